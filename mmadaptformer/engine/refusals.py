# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What the command-line tools print when they refuse bad input.

The package's own errors for bad input (a checkpoint on the wrong frozen
backbone, a damaged or unsafe file, a bad annotation line) carry complete
messages: the file, key or value and what was expected. A tool that meets
one ends with that message on one line and exit status 1, as
``tools/infer.py`` always did, instead of a traceback through the Runner.
Every other exception (a bug, an upstream error) keeps its traceback.
"""
from contextlib import contextmanager
from typing import Iterator

from mmadaptformer.datasets import (AnnotationError, BrokenImageError,
                                    BrokenVideoError, ShortVideoError)
from mmadaptformer.models import FrozenBackboneMismatchError
from mmadaptformer.utils import (CheckpointLoadError, ConfigError,
                                 PretrainedFileError)
from mmadaptformer.utils.atomic_save import AtomicWriteError
from mmadaptformer.utils.state_dict_check import StateDictMismatchError
from mmadaptformer.utils.stored_config import StoredConfigError
from mmadaptformer.utils.transform_steps import PipelineStepError
from .hooks import NonFiniteLossError, UnloadedBackboneError
from .hooks.resume_check_hook import ResumeStateError
from .resume import NoResumableCheckpointError

__all__ = ['REFUSALS', 'refusal_line', 'refusals_exit']

#: The errors whose message says all a user needs (a missing file's names
#: the file: a checkpoint, a config, ``--pretrained``; a failed write of an
#: output names the file, the bytes written and that it was left as it was).
REFUSALS = (AnnotationError, AtomicWriteError, BrokenImageError,
            BrokenVideoError, CheckpointLoadError, ConfigError,
            FileNotFoundError, FrozenBackboneMismatchError,
            NoResumableCheckpointError, NonFiniteLossError, PipelineStepError,
            PretrainedFileError, ResumeStateError, ShortVideoError,
            StateDictMismatchError, StoredConfigError, UnloadedBackboneError)


def refusal_line(exc: BaseException) -> str:
    """``exc`` as one line: its type, its message and, for a frozen backbone
    that does not fit, the command-line flag that sets it (not when the
    backbone already is the file the flag would name)."""
    line = f'{type(exc).__name__}: {exc}'
    if isinstance(exc, FrozenBackboneMismatchError) and \
            not exc.named_backbone:
        weights = exc.trained_on or 'BACKBONE.pth'
        line += (f' On the command line: --pretrained {weights} (train.py, '
                 'test.py, infer.py and merge_adapters.py take it).')
    return line


@contextmanager
def refusals_exit() -> Iterator[None]:
    """End the process with :func:`refusal_line` and status 1 on one of
    :data:`REFUSALS`; let everything else through."""
    try:
        yield
    except REFUSALS as exc:
        raise SystemExit(refusal_line(exc)) from None
