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
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np
import torch

__all__ = [
    'CheckpointLoadError', 'safe_globals', 'register_safe_globals',
    'safe_torch_load', 'register_safe_local_loader'
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


def _refusal_reason(message: str) -> str:
    """Pick the line of PyTorch's refusal that says what was refused."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    # PyTorch wraps the refused global in generic advice; keep the line
    # that names what was refused.
    keys = ('GLOBAL', 'Refused')
    for line in lines:
        if any(key in line for key in keys) and 'weights_only' not in line:
            return line.replace('WeightsUnpickler error: ', '')
    return lines[-1] if lines else message


def safe_torch_load(filename: str,
                    map_location: Optional[Union[str, torch.device]] = None
                    ) -> Any:
    """Load a checkpoint file with ``weights_only=True``.

    Args:
        filename (str): Path to a local checkpoint file.
        map_location (str | torch.device, optional): Same as
            :func:`torch.load`. Defaults to None.

    Returns:
        Any: The loaded object, usually a dict.

    Raises:
        FileNotFoundError: If ``filename`` does not exist.
        CheckpointLoadError: If the file holds something the allow-list
            refuses (for example a pickled callable) or is truncated or
            corrupted. The message names the file.
    """
    register_safe_globals()
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint file not found: {filename}')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: B902 -- re-raised with the file named
        message = str(e)
        if isinstance(e, pickle.UnpicklingError) and any(
                key in message for key in ('GLOBAL', 'Refused')):
            raise CheckpointLoadError(
                f'Refused to load checkpoint {filename}: it contains an '
                f'object that is not plain weights or MMEngine training '
                f'state ({_refusal_reason(message)}). Checkpoints are loaded '
                f'with weights_only=True so that a file cannot run code; '
                f'nothing in it was executed. If you wrote this file '
                f'yourself, save only tensors, numbers, strings and '
                f'containers of them.') from e
        size = osp.getsize(filename)
        first = message.splitlines()[0] if message else type(e).__name__
        raise CheckpointLoadError(
            f'Checkpoint file {filename} ({size} bytes) is truncated or '
            f'corrupted and cannot be read ({type(e).__name__}: {first})'
        ) from e


def load_from_local(filename: str, map_location=None) -> Any:
    """MMEngine ``CheckpointLoader`` scheme for local paths."""
    return safe_torch_load(filename, map_location=map_location)


def register_safe_local_loader() -> None:
    """Make MMEngine load local checkpoints through :func:`safe_torch_load`.

    This affects ``load_from``, ``--resume`` and ``init_cfg`` pretrained
    loading of local files, which all go through
    :class:`mmengine.runner.CheckpointLoader`.
    """
    from mmengine.runner import CheckpointLoader
    register_safe_globals()
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
