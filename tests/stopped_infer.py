# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A long ``tools/infer.py`` run stopped by a real signal in the middle:
what the tests of a stopped run (one model, ``--task``) share."""
import os
import subprocess
import sys
import time
from typing import List, Tuple

from media_files import write_clip
from process_table import default_stop_signals
from repo_paths import REPO_ROOT, TOOLS

INFER = os.path.join(TOOLS, 'infer.py')
#: The inputs of a long run.
INPUTS = 20000


def linked_inputs(root) -> str:
    """A folder of :data:`INPUTS` links to one clip, each an input of its
    own: a minute or more of classifying here, so that a stop 3 s after
    the first input comes in the middle even on a faster machine."""
    clip = write_clip(str(root / 'clip.mp4'), num_frames=12)
    videos = root / 'videos'
    videos.mkdir()
    for i in range(INPUTS):
        os.symlink(clip, videos / f'v{i:05d}.mp4')
    return str(videos)


def stopped_infer(args: List[str], signum: int,
                  tmp_path) -> Tuple[int, str, str]:
    """Run ``tools/infer.py args``, send ``signum`` 3 s after it classifies
    its first input (the test pipeline's first read logs MMEngine's
    FileClient warning), and return its status, stdout and stderr."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            p for p in (REPO_ROOT, os.environ.get('PYTHONPATH')) if p),
        OMP_NUM_THREADS='1')
    # A file, not a pipe: read only after the end, a full pipe would stop
    # the run.
    with open(tmp_path / 'stdout.txt', 'w+') as stdout:
        proc = subprocess.Popen(
            [sys.executable, INFER] + args,
            cwd=REPO_ROOT,
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_stop_signals)
        err = []
        for line in proc.stderr:
            err.append(line)
            if '"FileClient" will be deprecated' in line:
                break
        time.sleep(3)
        proc.send_signal(signum)
        _, rest = proc.communicate(timeout=120)
        stdout.seek(0)
        return proc.returncode, stdout.read(), ''.join(err) + rest
