# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Atomic checkpoint saves: ``torch.save`` and an MMEngine file backend
that write through :class:`~.atomic_file.AtomicFile`.

MMEngine writes a checkpoint in place: ``CheckpointHook`` →
``Runner.save_checkpoint`` → :func:`mmengine.runner.save_checkpoint`, which
``torch.save``-s into memory and hands the bytes to the file backend's
``put``; :class:`~mmengine.fileio.LocalBackend` then opens the final path
with ``'wb'`` and writes. A run killed during that write (pre-emption, OOM
killer, Ctrl-\\) leaves a truncated ``epoch_N.pth`` under its real name.

:func:`atomic_torch_save` is ``torch.save`` into an :class:`AtomicFile`:
the checkpoint converters (``tools/model_converters/*.py``) write their
output through it, so a converter killed mid-write leaves no truncated
checkpoint under the name a later ``--resume``, ``load_from`` or test
reads.

:class:`AtomicLocalBackend` is :class:`~mmengine.fileio.LocalBackend` with
atomic ``put`` / ``put_text``, registered as MMEngine file backend
``'atomic_local'`` (through :func:`mmengine.fileio.register_backend`, for
no prefix, so MMEngine's own local backend is unchanged). It is selected by
``backend_args=dict(backend='atomic_local')``, which
:class:`~mmadaptformer.engine.AtomicCheckpointHook` sets for local work
dirs. Nothing in MMEngine is patched.

:class:`AtomicFile`, :func:`atomic_write` and :class:`AtomicWriteError`
live in :mod:`.atomic_file`, and are imported from there (``atomic_write``
is public as :func:`mmadaptformer.utils.atomic_write` too).
"""
import os.path as osp
from pathlib import Path
from typing import Any, Optional, Union

import torch
from mmengine.fileio import LocalBackend, register_backend

from .atomic_file import AtomicFile, AtomicWriteError, atomic_write

__all__ = ['atomic_torch_save', 'AtomicLocalBackend', 'ATOMIC_BACKEND']

ATOMIC_BACKEND = 'atomic_local'


def atomic_torch_save(obj: Any, filepath: Union[str, Path]) -> int:
    """``torch.save(obj, filepath)`` so that no reader sees a partial file.

    The pickle streams into an :class:`AtomicFile`; an error while pickling
    or writing (an object that cannot be pickled, a full disk) leaves
    ``filepath`` as it was and no temporary file.

    Raises:
        AtomicWriteError: If the file could not be written (disk full, file
            too large, no permission), naming it and the bytes written.

    Args:
        obj (Any): What ``torch.save`` saves, e.g. a checkpoint dict.
        filepath (str | Path): The target file; missing parent folders are
            created.

    Returns:
        int: The size of the written file, in bytes.
    """
    with AtomicFile(filepath, 'wb') as f:
        try:
            torch.save(obj, f)
        except Exception as e:  # noqa: B902 -- re-raised, maybe as its cause
            failure = _write_failure(e)
            if failure is None or failure is e:
                raise
            # The write's own error says what went wrong; PyTorch's zip
            # writer ends a failed write with its own RuntimeError
            # ('unexpected pos 18240 vs 18192') while closing the archive.
            raise failure from None
    return f.requested if f.streamed else osp.getsize(f.target)


def _write_failure(error: BaseException) -> Optional[AtomicWriteError]:
    """The :class:`AtomicWriteError` that ``error`` is, or was raised
    while handling, if any."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, AtomicWriteError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """:class:`~mmengine.fileio.LocalBackend` whose ``put`` and ``put_text``
    replace the whole file atomically (see :func:`atomic_write`).

    Registered as MMEngine file backend ``'atomic_local'``; select it with
    ``backend_args=dict(backend='atomic_local')``.

    Examples:
        >>> from mmengine.fileio import get_file_backend
        >>> backend = get_file_backend(
        ...     'work_dir', backend_args=dict(backend='atomic_local'))
        >>> backend.put(b'weights', 'work_dir/epoch_1.pth')
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write ``obj`` to ``filepath`` atomically.

        Args:
            obj (bytes): Data to be written.
            filepath (str | Path): Path to write data.
        """
        atomic_write(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write ``obj`` to ``filepath`` atomically, as text.

        Args:
            obj (str): Data to be written.
            filepath (str | Path): Path to write data.
            encoding (str): The encoding format used to encode ``obj``.
                Defaults to 'utf-8'.
        """
        atomic_write(obj, filepath, encoding=encoding)
