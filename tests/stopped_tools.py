# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A real tool process stopped by Ctrl-C, as a terminal sends it, for the
tests of what a stopped ``tools/train.py`` or ``tools/test.py`` says."""
import os
import signal
import subprocess
import sys
from typing import Dict, Optional, Sequence, Tuple

from process_table import default_stop_signals
from repo_paths import REPO_ROOT, TOOLS


def stopped_tool(tmp_path,
                 args: Sequence[str],
                 ready: str,
                 paths: Sequence[str] = (),
                 env: Optional[Dict[str, str]] = None,
                 count: int = 1) -> Tuple[int, str]:
    """Run ``tools/<args[0]> args[1:]`` (a ``.sh`` one with bash), press
    Ctrl-C (SIGINT to its process group, as a terminal does) once it
    prints ``count`` lines holding ``ready`` (one per worker of a
    distributed run); its status and output. ``paths`` go
    first on its ``PYTHONPATH`` (modules its config's ``custom_imports``
    names); ``env`` adds to its environment."""
    script = os.path.join(TOOLS, args[0])
    env = dict(
        os.environ,
        **(env or {}),
        PYTHONPATH=os.pathsep.join(
            p for p in (*paths, REPO_ROOT, os.environ.get('PYTHONPATH')) if p),
        OMP_NUM_THREADS='1')
    proc = subprocess.Popen(
        (['bash'] if script.endswith('.sh') else [sys.executable]) + [script] +
        list(args[1:]),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=default_stop_signals)
    try:
        before = []
        for line in proc.stdout:
            before.append(line)
            count -= ready in line
            if not count:
                break
        assert proc.poll() is None, ''.join(before)[-3000:]
        os.killpg(proc.pid, signal.SIGINT)
        rest, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, ''.join(before) + rest
