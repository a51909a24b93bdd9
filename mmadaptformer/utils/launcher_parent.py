# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A torchrun worker ends when torchrun does, and tells it why it
refused to go on.

torchrun starts each worker in a session of its own, so a SIGKILL of
torchrun (``kill -9``, the out-of-memory killer, a job scheduler's hard
stop), which torchrun cannot pass on, left its workers running as orphans:
they went on training and writing checkpoints into the work dir the user
took for stopped, alongside the ``--resume`` run started next. On Linux,
:func:`end_with_launcher` asks the kernel to SIGKILL the worker when its
parent, torchrun's agent, ends; the checkpoints are written atomically, so
a worker killed while saving leaves the previous one resumable.

A worker that refuses bad input (a broken validation video, a bad
annotation line) ends with one line; every rank printed it, and torchrun's
``ChildFailedError`` block followed, naming no cause (``To enable
traceback see ...``). :func:`report_refusal` writes the line into the
error file torchrun gives each worker (``TORCHELASTIC_ERROR_FILE``, in
torch's own format), so torchrun's block names it as the root cause; and
under ``tools/dist_train.sh`` and ``tools/dist_test.sh``, whose launcher
(``tools/misc/dist_run.py``) prints each distinct refusal once after the
block's place, the worker prints nothing itself.
"""
import ctypes
import json
import os
import signal
import sys
import time

__all__ = [
    'end_with_launcher', 'report_refusal', 'REFUSAL_KEY',
    'LAUNCHER_PRINTS_REFUSALS'
]

#: The key of a worker's torchrun error file that holds its refusal line
#: (``tools/misc/dist_run.py`` reads it; torch ignores it).
REFUSAL_KEY = 'mmadaptformer_refusal'

#: Set (to ``1``) by ``tools/misc/dist_run.py`` for the workers it starts:
#: it prints their refusals, so they do not.
LAUNCHER_PRINTS_REFUSALS = 'MMADAPTFORMER_LAUNCHER_PRINTS_REFUSALS'

#: ``PR_SET_PDEATHSIG`` of ``<linux/prctl.h>``.
_PR_SET_PDEATHSIG = 1


def end_with_launcher(launcher: str) -> bool:
    """Under torchrun (``launcher='pytorch'`` and torchrun's
    ``TORCHELASTIC_RUN_ID`` set) on Linux, have this process SIGKILLed when
    its parent ends; if the parent has already ended, end now.

    Args:
        launcher (str): The tool's ``--launcher``.

    Returns:
        bool: Whether the kernel will end this process with its parent.
    """
    if launcher != 'pytorch' or 'TORCHELASTIC_RUN_ID' not in os.environ \
            or not sys.platform.startswith('linux'):
        return False
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    # torchrun ended before the request was made: this process now has
    # another parent (init, or a subreaper such as a container's).
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
    return True


def report_refusal(line: str) -> bool:
    """Under torchrun, write ``line`` (a tool's one-line refusal) into this
    worker's error file, as torch's ``@record`` writes an exception.

    Args:
        line (str): What the tool would print.

    Returns:
        bool: Whether the launcher prints it: the file was written and the
        worker was started by ``tools/misc/dist_run.py`` (the tools then
        end without printing it, status 1).
    """
    error_file = os.environ.get('TORCHELASTIC_ERROR_FILE')
    if not error_file:
        return False
    data = {
        'message': {
            'message': line,
            'extraInfo': {
                'py_callstack': line,
                'timestamp': str(int(time.time()))
            }
        },
        REFUSAL_KEY: line
    }
    try:
        with open(error_file, 'w') as f:
            json.dump(data, f)
    except OSError:
        return False
    return os.environ.get(LAUNCHER_PRINTS_REFUSALS) == '1'
