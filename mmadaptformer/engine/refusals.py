# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What the command-line tools print when they refuse bad input.

The package's own errors for bad input (a checkpoint on the wrong frozen
backbone, a damaged or unsafe file, a bad annotation line) carry complete
messages: the file, key or value and what was expected. A tool that meets
one ends with that message on one line and exit status 1, as
``tools/infer.py`` always did, instead of a traceback through the Runner.
Every other exception (a bug, an upstream error) keeps its traceback.

A refusal raised in a DataLoader worker (``num_workers > 0``, as in the
recipes) reaches the tool as torch re-raises it: the same type, its
message the worker's whole traceback. The tool prints the worker's own
message (:func:`worker_message`), as it would have without workers.
"""
import os.path as osp
import re
import sys
from contextlib import contextmanager
from typing import Iterator, Optional

from mmadaptformer.datasets import (AnnotationError, BrokenImageError,
                                    BrokenVideoError, ShortVideoError)
from mmadaptformer.models import (FrozenBackboneMismatchError,
                                  SingleSampleBatchError)
from mmadaptformer.utils import (CheckpointLoadError, ConfigError,
                                 PretrainedFileError)
from mmadaptformer.utils.atomic_file import AtomicWriteError
from mmadaptformer.utils.launcher_refusals import leave_refusal_to_launcher
from mmadaptformer.utils.state_dict_check import StateDictMismatchError
from mmadaptformer.utils.stored_config import StoredConfigError
from mmadaptformer.utils.transform_steps import PipelineStepError
from .hooks import NonFiniteLossError, UnloadedBackboneError
from .hooks.resume_state_check import ResumeStateError
from .resume import NoResumableCheckpointError

__all__ = ['REFUSALS', 'worker_message', 'refusal_line', 'refusals_exit']

#: The errors whose message says all a user needs (a missing file's names
#: the file: a checkpoint, a config, ``--pretrained``; a failed write of an
#: output names the file, the bytes written and that it was left as it was).
REFUSALS = (AnnotationError, AtomicWriteError, BrokenImageError,
            BrokenVideoError, CheckpointLoadError, ConfigError,
            FileNotFoundError, FrozenBackboneMismatchError,
            NoResumableCheckpointError, NonFiniteLossError, PipelineStepError,
            PretrainedFileError, ResumeStateError, ShortVideoError,
            SingleSampleBatchError, StateDictMismatchError, StoredConfigError,
            UnloadedBackboneError)

#: The start of the message of an error that torch's DataLoader re-raises
#: from a worker (``ExceptionWrapper.reraise``): ``Caught <type> in
#: DataLoader worker process 0.``, then the worker's traceback.
_WORKER_HEADER = re.compile(r'Caught (\w+) in [^\n]*\.\nOriginal ')

#: A traceback's header and frames, the indented lines after it.
_FRAMES = r'Traceback \(most recent call last\):\n(?:[ \t][^\n]*\n)*'


def worker_message(exc: BaseException) -> Optional[str]:
    """The message of ``exc`` as a DataLoader worker raised it; None if the
    worker did not raise it.

    torch rebuilds a worker's error in the main process as the same type
    with one argument: ``"Caught ShortVideoError in DataLoader worker
    process 0.\\nOriginal Traceback (most recent call last):\\n ...
    mmadaptformer.datasets.short_videos.ShortVideoError: <message>"``, the
    error's cause, if any, first. The message is what follows the type's
    name after the last traceback, all its lines.

    Args:
        exc (BaseException): An error caught in the main process.
    """
    text = str(exc)
    caught = _WORKER_HEADER.match(text)
    if caught is None or caught.group(1) != type(exc).__name__:
        return None
    # As the traceback module names the type.
    name = type(exc).__qualname__
    if type(exc).__module__ not in ('__main__', 'builtins'):
        name = f'{type(exc).__module__}.{name}'
    raised = None
    for raised in re.finditer(_FRAMES + re.escape(name) + r'(?:: |\n|$)',
                              text):
        pass
    if raised is None:  # not a traceback the worker wrote
        return None
    return text[raised.end():].rstrip('\n')


def refusal_line(exc: BaseException) -> str:
    """``exc`` as one line: its type, its message (as the DataLoader worker
    that raised it had it: :func:`worker_message`) and, for a frozen
    backbone that does not fit, the command-line flag that sets it (not
    when the backbone already is the file the flag would name)."""
    message = worker_message(exc)
    line = f'{type(exc).__name__}: {exc if message is None else message}'
    if isinstance(exc, FrozenBackboneMismatchError) and \
            not exc.named_backbone:
        weights = exc.trained_on or 'BACKBONE.pth'
        line += (f' On the command line: --pretrained {weights} (train.py, '
                 'test.py, infer.py and merge_adapters.py take it).')
    return line


@contextmanager
def refusals_exit() -> Iterator[None]:
    """End the process with :func:`refusal_line` and status 1 on one of
    :data:`REFUSALS`; let everything else through.

    The line is printed once for all ranks
    (:func:`~mmadaptformer.utils.launcher_refusals.
    leave_refusal_to_launcher`): under ``tools/dist_train.sh`` and
    ``tools/dist_test.sh`` their launcher prints it, and the worker ends
    without printing it; under ``tools/slurm_*.sh`` the first rank of each
    node prints it."""
    try:
        yield
    except REFUSALS as exc:
        line = refusal_line(exc)
        if leave_refusal_to_launcher(line, osp.basename(sys.argv[0])):
            raise SystemExit(1) from None
        raise SystemExit(line) from None
