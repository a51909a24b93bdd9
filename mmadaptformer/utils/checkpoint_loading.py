# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Load MMEngine checkpoints with ``torch.load(weights_only=True)``.

Since PyTorch 2.6 :func:`torch.load` defaults to ``weights_only=True``. An
MMEngine checkpoint holds the message hub, whose
:class:`~mmengine.logging.HistoryBuffer` objects and numpy scalars are not on
PyTorch's default allow-list, so ``--resume`` fails with
``UnpicklingError: Unsupported global``. Turning ``weights_only`` off (as
mmengine's unreleased main branch does) would let any checkpoint file run
code. This module instead allow-lists exactly the types MMEngine writes:

* :class:`mmengine.logging.HistoryBuffer`;
* numpy arrays, dtypes, the ``numpy.dtypes.*DType`` classes (except the
  object dtype) and numpy scalars;
* ``getattr`` -- but only a guarded replacement registered under the names
  ``builtins.getattr`` / ``__builtin__.getattr``. A HistoryBuffer pickles its
  statistics methods as ``getattr(HistoryBuffer, 'min')``; the replacement
  resolves the statistics methods of HistoryBuffer and refuses everything
  else, so a checkpoint cannot walk to arbitrary attributes.

It also replaces MMEngine's local-file checkpoint loader with one that loads
with ``weights_only=True`` explicitly and turns failures into errors that name
the file and what was refused.
"""
import os.path as osp
import pickle
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .checkpoint_source import tag_checkpoint_source
from .pickle_scan import scan_file_globals

__all__ = [
    'CheckpointLoadError', 'safe_globals', 'register_safe_globals',
    'safe_torch_load', 'refusal_message', 'refusal_reason', 'load_from_local'
]


class CheckpointLoadError(RuntimeError):
    """A checkpoint file could not be loaded safely or is damaged."""


# HistoryBuffer fills ``_statistics_methods`` lazily, in its first
# ``__init__``, so the built-in names are listed here as well.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _allowed_statistics() -> List[str]:
    from mmengine.logging import HistoryBuffer
    return sorted(
        set(_HISTORY_BUFFER_STATISTICS)
        | set(HistoryBuffer._statistics_methods))


def _guarded_getattr(obj: Any, name: str, *default: Any) -> Any:
    """A ``getattr`` that only resolves HistoryBuffer statistics methods."""
    from mmengine.logging import HistoryBuffer
    allowed = _allowed_statistics()
    if obj is HistoryBuffer and isinstance(name, str) and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'Refused getattr({getattr(obj, "__qualname__", type(obj))!r}, '
        f'{name!r}) while loading a checkpoint: only the statistics methods '
        f'of mmengine.logging.HistoryBuffer ({allowed}) may be looked up.')


def safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The globals an MMEngine checkpoint needs beyond PyTorch's defaults.

    Returns:
        list: Entries for :func:`torch.serialization.add_safe_globals`.
    """
    from mmengine.logging import HistoryBuffer
    multiarray = np._core.multiarray
    entries: List[Union[Callable, Tuple[Callable, str]]] = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        # numpy >= 2 writes ``numpy._core``; numpy 1.x wrote ``numpy.core``.
        (multiarray._reconstruct, 'numpy._core.multiarray._reconstruct'),
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy._core.multiarray.scalar'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
        (_guarded_getattr, 'builtins.getattr'),
        # pickle protocol 2 (torch.save's default) names the module
        # ``__builtin__``.
        (_guarded_getattr, '__builtin__.getattr'),
    ]
    for name in dir(np.dtypes):
        if name.endswith('DType') and name != 'ObjectDType':
            entries.append(getattr(np.dtypes, name))
    return entries


_REGISTERED = False


def register_safe_globals() -> None:
    """Add :func:`safe_globals` to PyTorch's ``weights_only`` allow-list.

    Idempotent. ``weights_only`` stays on; nothing else is allowed.
    """
    global _REGISTERED
    if _REGISTERED:
        return
    torch.serialization.add_safe_globals(safe_globals())
    _REGISTERED = True


#: Lines of PyTorch's refusal text that are generic advice, never shown: one
#: of them suggests turning ``weights_only`` off, which must never reach a
#: user as a way out of a security refusal.
_TORCH_ADVICE = ('weights_only', 'Weights only load failed',
                 'Please file an issue', 'Check the documentation of')


def refusal_reason(message: str) -> str:
    """Pick the line of PyTorch's refusal that says what was refused."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if any(key in line for key in ('GLOBAL', 'Refused')) and not any(
                advice in line for advice in _TORCH_ADVICE):
            return line.replace('WeightsUnpickler error: ', '')
    details = [
        line.replace('WeightsUnpickler error: ', '') for line in lines
        if not any(advice in line for advice in _TORCH_ADVICE)
    ]
    details = [line for line in details if line]
    return details[0] if details else 'an object outside the allow-list'


def _error_detail(error: BaseException) -> str:
    """One line about ``error`` without PyTorch's generic advice."""
    lines = [
        line.strip().replace('WeightsUnpickler error: ', '')
        for line in str(error).splitlines() if line.strip()
    ]
    lines = [
        line for line in lines
        if line and not any(advice in line for advice in _TORCH_ADVICE)
    ]
    return f'{type(error).__name__}: {lines[0]}' if lines else \
        type(error).__name__


def refusal_message(source: str, refused: Sequence[str]) -> str:
    """The error text for a checkpoint that carries code references.

    Args:
        source (str): The file or address of the checkpoint.
        refused (Sequence[str]): What was refused, e.g. the globals
            ``['posix.system']`` or PyTorch's line naming one.

    Returns:
        str: A message that names the globals and never suggests turning
        ``weights_only`` off.
    """
    listed = ', '.join(refused)
    return (f'Refused to load checkpoint {source}: it carries a reference to '
            f'code ({listed}), which a checkpoint of weights and MMEngine '
            f'training state never needs. It is refused for safety: '
            f'checkpoints are loaded with weights_only=True and an '
            f'allow-list, so nothing in it was executed. Do not use this '
            f'file; if you wrote it yourself, save only tensors, '
            f'numbers, strings and containers of them.')


def safe_torch_load(filename: str,
                    map_location: Optional[Union[str, torch.device]] = None,
                    source: Optional[str] = None) -> Any:
    """Load a checkpoint file with ``weights_only=True``.

    Args:
        filename (str): Path to a local checkpoint file.
        map_location (str | torch.device, optional): Same as
            :func:`torch.load`. Defaults to None.
        source (str, optional): Where the file came from (e.g. the address
            it was downloaded from), named in errors instead of
            ``filename``.
            Defaults to None.

    Returns:
        Any: The loaded object, usually a dict.

    Raises:
        FileNotFoundError: If ``filename`` does not exist.
        CheckpointLoadError: If the file carries references to code (the
            message names them; nothing was executed) or is truncated or
            corrupted. The message names the file.
    """
    register_safe_globals()
    filename = osp.expanduser(filename)
    where = filename if source is None else source
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint file not found: {where}')
    try:
        checkpoint = torch.load(
            filename, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: B902 -- re-raised with the file named
        message = str(e)
        if isinstance(e, pickle.UnpicklingError) and any(
                key in message for key in ('GLOBAL', 'Refused')):
            refused = scan_file_globals(filename, only_disallowed=True) or \
                [refusal_reason(message)]
            # Not chained: PyTorch's text advises turning weights_only off.
            raise CheckpointLoadError(refusal_message(where,
                                                      refused)) from None
        # The weights-only unpickler stops at the first opcode it does not
        # know (a raw pickle's FRAME, say) before it reaches any global, so
        # read the opcodes without executing them to tell code from damage.
        refused = scan_file_globals(filename, only_disallowed=True)
        if refused:
            raise CheckpointLoadError(refusal_message(where,
                                                      refused)) from None
        size = osp.getsize(filename)
        raise CheckpointLoadError(
            f'Checkpoint file {where} ({size} bytes) is truncated or '
            f'corrupted and cannot be read ({_error_detail(e)}).') from None
    # An adapter-only checkpoint's frozen-backbone record learns its file,
    # so the model's own load path can name it in a refusal.
    tag_checkpoint_source(checkpoint, where)
    return checkpoint


def load_from_local(filename: str, map_location=None) -> Any:
    """MMEngine ``CheckpointLoader`` scheme for local paths."""
    return safe_torch_load(filename, map_location=map_location)
