# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A torchrun worker tells torchrun why it refused to go on.

A worker that refuses bad input (a broken validation video, a bad
annotation line) or a command line it cannot use (``parser.error``) ends
with one message; every rank printed it, and torchrun's
``ChildFailedError`` block followed, naming no cause (``To enable
traceback see ...``). :func:`report_refusal` writes the message into the
error file torchrun gives each worker (``TORCHELASTIC_ERROR_FILE``, in
torch's own format), so torchrun's block names it as the root cause; and
under ``tools/dist_train.sh`` and ``tools/dist_test.sh``, whose launcher
(``tools/misc/dist_run.py``) prints each distinct message once per node,
the worker prints nothing itself.

The worker takes both environment variables out of ``os.environ`` the
first time it reads them (:func:`take_torchrun_settings`, which the tools
reach early through ``end_with_launcher``): a tool that the worker runs in
a subprocess would otherwise write over the worker's error file and print
nothing.

Only the standard library is imported here: ``tools/misc/dist_run.py``
loads this file by its path, without the package's slow import.
"""
import json
import os
import time
from typing import NamedTuple, Optional

__all__ = [
    'report_refusal', 'take_torchrun_settings', 'TorchrunSettings',
    'REFUSAL_KEY', 'LAUNCHER_PRINTS_REFUSALS', 'ERROR_FILE'
]

#: The key of a worker's torchrun error file that holds its refusal
#: (``tools/misc/dist_run.py`` reads it; torch ignores it).
REFUSAL_KEY = 'mmadaptformer_refusal'

#: Set (to ``1``) by ``tools/misc/dist_run.py`` for the workers it starts:
#: it prints their refusals, so they do not.
LAUNCHER_PRINTS_REFUSALS = 'MMADAPTFORMER_LAUNCHER_PRINTS_REFUSALS'

#: Where torchrun tells each worker to write its error.
ERROR_FILE = 'TORCHELASTIC_ERROR_FILE'


class TorchrunSettings(NamedTuple):
    """What torchrun and its launcher told this worker.

    Args:
        error_file (str, optional): The worker's error file; None outside
            torchrun.
        launcher_prints (bool): Whether ``tools/misc/dist_run.py`` prints
            the refusals written there.
    """
    error_file: Optional[str]
    launcher_prints: bool


#: This process's settings, once taken out of ``os.environ``.
_taken: Optional[TorchrunSettings] = None


def take_torchrun_settings() -> TorchrunSettings:
    """Read :data:`ERROR_FILE` and :data:`LAUNCHER_PRINTS_REFUSALS` and take
    them out of ``os.environ``, the first time; the same afterwards.

    Returns:
        TorchrunSettings: What this process was told.
    """
    global _taken
    if _taken is None:
        _taken = TorchrunSettings(
            os.environ.pop(ERROR_FILE, None) or None,
            os.environ.pop(LAUNCHER_PRINTS_REFUSALS, None) == '1')
    return _taken


def report_refusal(text: str) -> bool:
    """Under torchrun, write ``text`` (a tool's refusal: one line, or
    ``parser.error``'s usage and error) into this worker's error file, as
    torch's ``@record`` writes an exception.

    Args:
        text (str): What the tool would print.

    Returns:
        bool: Whether the launcher prints it: the file was written and the
        worker was started by ``tools/misc/dist_run.py`` (the tools then
        end without printing it, with the status they would have had).
    """
    settings = take_torchrun_settings()
    if not settings.error_file:
        return False
    data = {
        'message': {
            'message': text,
            'extraInfo': {
                'py_callstack': text,
                'timestamp': str(int(time.time()))
            }
        },
        REFUSAL_KEY: text
    }
    try:
        with open(settings.error_file, 'w') as f:
            json.dump(data, f)
    except OSError:
        return False
    return settings.launcher_prints
