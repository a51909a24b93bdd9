# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A torchrun worker ends when torchrun does.

torchrun starts each worker in a session of its own, so a SIGKILL of
torchrun (``kill -9``, the out-of-memory killer, a job scheduler's hard
stop), which torchrun cannot pass on, left its workers running as orphans:
they went on training and writing checkpoints into the work dir the user
took for stopped, alongside the ``--resume`` run started next. On Linux,
:func:`end_with_launcher` asks the kernel to SIGKILL the worker when its
parent, torchrun's agent, ends; the checkpoints are written atomically, so
a worker killed while saving leaves the previous one resumable.

It also takes torchrun's error file out of the environment
(:func:`~.torchrun_error_file.take_torchrun_settings`), so that what the
worker starts cannot write over it.
"""
import ctypes
import os
import signal
import sys

from .torchrun_error_file import take_torchrun_settings

__all__ = ['end_with_launcher']

#: ``PR_SET_PDEATHSIG`` of ``<linux/prctl.h>``.
_PR_SET_PDEATHSIG = 1


def end_with_launcher(launcher: str) -> bool:
    """Under torchrun (``launcher='pytorch'`` and torchrun's
    ``TORCHELASTIC_RUN_ID`` set) on Linux, have this process SIGKILLed when
    its parent ends; if the parent has already ended, end now. Take the
    error file's settings out of the environment in every case.

    Args:
        launcher (str): The tool's ``--launcher``.

    Returns:
        bool: Whether the kernel will end this process with its parent.
    """
    # Early in each worker: before it starts anything that would inherit
    # them.
    take_torchrun_settings()
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
