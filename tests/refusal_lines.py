# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The one line a tool run in a subprocess (:func:`helpers.run_tool`) is
refused with."""
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
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert 'Traceback' not in out, out[-3000:]
    for text in absent:
        assert text not in out, out[-3000:]
    if no_dir is not None:
        assert not osp.exists(no_dir), no_dir
    return out.strip().splitlines()[-1]
