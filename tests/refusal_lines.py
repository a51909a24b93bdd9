# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The one line a tool run in a subprocess (:func:`tool_runners.run_tool`) is
refused with: exit status 1 (a refusal) or 2 (a command-line error)."""
import os.path as osp
import subprocess
from typing import Iterable, Optional


def refused_line(proc: subprocess.CompletedProcess,
                 absent: Iterable[str] = (),
                 no_dir: Optional[str] = None) -> str:
    """The last line of a run that ended with exit status 1 and no
    traceback.

    Args:
        proc (CompletedProcess): The run, its stderr joined to stdout.
        absent (Iterable[str]): Texts the output must not hold either
            (what the refused run would have printed after its checks).
        no_dir (str, optional): A folder (the work dir) the run must not
            have made. Defaults to None.
    """
    return _last_line(proc, 1, absent, no_dir)


def usage_line(proc: subprocess.CompletedProcess,
               absent: Iterable[str] = (),
               no_dir: Optional[str] = None) -> str:
    """The last line of a run that ended with exit status 2 (a command-line
    error: argparse's ``PROG: error: ...``, or a ``--cfg-options`` the
    config cannot take) and no traceback.

    Args:
        proc (CompletedProcess): The run, its stderr joined to stdout.
        absent (Iterable[str]): Texts the output must not hold either.
        no_dir (str, optional): A folder (the work dir) the run must not
            have made. Defaults to None.
    """
    return _last_line(proc, 2, absent, no_dir)


def _last_line(proc: subprocess.CompletedProcess, status: int,
               absent: Iterable[str], no_dir: Optional[str]) -> str:
    out = proc.stdout
    assert proc.returncode == status, out[-3000:]
    assert 'Traceback' not in out, out[-3000:]
    for text in absent:
        assert text not in out, out[-3000:]
    if no_dir is not None:
        assert not osp.exists(no_dir), no_dir
    return out.strip().splitlines()[-1]


#: How tools/infer.py ends when its model (every --task) was not loaded.
NOTHING_CLASSIFIED = 'Nothing was classified: '


def model_load_error(proc: subprocess.CompletedProcess, absent=()) -> str:
    """The error ``tools/infer.py`` said for a model it could not load
    (``model NAME: ERROR ...``, its detail lines joined by newlines), from
    a run that ended with exit status 1, no traceback and the line that
    nothing was classified.

    Args:
        proc (CompletedProcess): The run, its stderr joined to stdout.
        absent (Iterable[str]): Texts the output must not hold either.
    """
    last = _last_line(proc, 1, absent, None)
    assert last.startswith(NOTHING_CLASSIFIED), proc.stdout[-3000:]
    lines = proc.stdout.strip().splitlines()[:-1]
    first = max(i for i, line in enumerate(lines)
                if line.startswith('model ') and ': ERROR ' in line)
    return '\n'.join(lines[first:])
