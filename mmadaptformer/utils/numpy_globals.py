# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The numpy entries of the checkpoint allow-list.

An MMEngine checkpoint's message hub holds numpy arrays and scalars, which
PyTorch's ``weights_only`` unpickler refuses unless numpy's globals are
allow-listed. numpy's own ``dtype``, ``ndarray`` and ``_reconstruct`` would
let a pickle build arrays that corrupt memory, so :func:`numpy_safe_globals`
lists guarded stand-ins under their names instead (its docstring says what
each allows and what is left out). This module only knows numpy;
:mod:`~mmadaptformer.utils.checkpoint_loading` builds the whole allow-list
and turns what :func:`unsafe_numpy_entries` and
:func:`foreign_byte_order` find into errors that name the file.

Needs numpy >= 2 (``numpy._core``); ``import mmadaptformer`` checks it.
"""
import pickle
import sys
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np
import torch

from .pickle_scan import numpy_byte_orders

__all__ = [
    'numpy_safe_globals', 'unsafe_numpy_entries', 'foreign_byte_order',
    'multibyte_dtypes_made'
]

#: numpy dtype kinds a checkpoint may hold: bool, signed and unsigned
#: integer, float, complex.
_NUMERIC_KINDS = 'biufc'
#: How many multi-byte numpy dtypes :func:`_numpy_dtype` has handed out
#: (see :func:`multibyte_dtypes_made`).
_multibyte_dtypes_made = 0


def _numpy_dtype(obj: Any, align: Any = False, copy: Any = False) -> np.dtype:
    """``numpy.dtype`` for checkpoints: numpy's shared numeric dtypes only.

    numpy pickles a dtype as ``numpy.dtype('f8', False, True)`` (a fresh
    copy) followed by a state for ``__setstate__``, which takes whatever
    fields, sub-array, flags and item size the state says, for a numeric
    dtype too. Returned instead is numpy's shared, built-in dtype, whose
    ``__setstate__`` ignores any state, so a checkpoint cannot change it.
    """
    global _multibyte_dtypes_made
    dtype = None
    if isinstance(obj, str):
        try:
            dtype = np.dtype(obj)
        except Exception:  # noqa: B902 -- refused below, naming ``obj``
            dtype = None
    if dtype is None or dtype.kind not in _NUMERIC_KINDS \
            or dtype is not np.dtype(dtype.char):
        if dtype is None:
            what = repr(obj)[:80]
        else:
            what = (f'{dtype.str!r} ({type(dtype).__module__}.'
                    f'{type(dtype).__name__})')
        raise pickle.UnpicklingError(
            f'Refused numpy dtype {what} while loading a checkpoint: only '
            f'numpy arrays and scalars of bool, integer, float and complex '
            f'dtypes (in native byte order) may be loaded, because a pickle '
            f'can give the other numpy dtypes (str, bytes, datetime, '
            f'structured, object) a memory layout that corrupts memory. '
            f'Store such values as Python lists, str or tensors instead.')
    if dtype.itemsize > 1:
        _multibyte_dtypes_made += 1
    return dtype


class _NumpyArrayName:
    """What a checkpoint gets for the global ``numpy.ndarray``.

    numpy's pickles name ``numpy.ndarray`` only as the first argument of
    ``_reconstruct``; calling the real class from a pickle, e.g.
    ``ndarray((1,), 'O', b'AAAAAAAA')``, lays object pointers over bytes
    from the file. This stand-in cannot be made.
    """

    def __new__(cls, *args: Any, **kwargs: Any):
        raise pickle.UnpicklingError(
            'Refused numpy.ndarray(...) while loading a checkpoint: numpy '
            'arrays are rebuilt only the way numpy pickles them, because '
            'ndarray() can lay object pointers over bytes from the file.')


def _numpy_reconstruct(subtype: Any, shape: Any, typecode: Any) -> Any:
    """numpy's ``_reconstruct`` for checkpoints: the empty array numpy's own
    pickles start from, which ``ndarray.__setstate__`` then fills."""
    if subtype is _NumpyArrayName and type(shape) is tuple \
            and shape == (0, ) and typecode in (b'b', 'b'):
        return np._core.multiarray._reconstruct(np.ndarray, (0, ), b'b')
    raise pickle.UnpicklingError(
        f'Refused numpy _reconstruct({getattr(subtype, "__name__", "?")}, '
        f'{str(shape)[:40]}, {str(typecode)[:40]}) while loading a '
        f'checkpoint: only the arguments numpy itself pickles '
        f'(ndarray, (0,), b"b") are accepted.')


#: ``numpy.ndarray`` is listed under this name, which no pickle can spell
#: (a GLOBAL opcode's names end at a newline): PyTorch restores the state of
#: an object only if its type is listed, and arrays come from
#: :func:`_numpy_reconstruct`; a pickle that names ``numpy.ndarray`` gets
#: :class:`_NumpyArrayName`.
_NDARRAY_STATE_ONLY = 'numpy.ndarray\n(state only; no pickle can name this)'


def _numeric_dtype_classes() -> List[type]:
    """``numpy.dtypes.*DType`` of bool, integer, float and complex."""
    classes = []
    for name in sorted(dir(np.dtypes)):
        cls = getattr(np.dtypes, name)
        scalar_type = getattr(cls, 'type', None)
        if not (name.endswith('DType') and isinstance(cls, type)
                and isinstance(scalar_type, type)
                and issubclass(scalar_type, np.generic)):
            continue
        if np.dtype(scalar_type).kind in _NUMERIC_KINDS \
                and cls not in classes:
            classes.append(cls)
    return classes


def numpy_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The numpy entries of the checkpoint allow-list.

    * ``numpy.dtype``, as :func:`_numpy_dtype`: bool, integer, float and
      complex dtypes only, given as numpy's shared dtypes, which ignore the
      ``__setstate__`` a pickle sends them. numpy hands out a fresh copy
      instead, whose ``__setstate__`` takes any fields, sub-array and
      flags: an ``'O'`` field makes numpy read bytes from the file as
      object pointers, a sub-array larger than the item reads past the
      buffer, and ``M8``/``m8`` with an empty state crashed inside the load
      (all seen with SIGSEGV). The numeric ``numpy.dtypes.*DType`` classes
      are listed only because PyTorch restores a state only for listed
      types; calling one returns the shared dtype too.
    * numpy's ``_reconstruct`` (``numpy._core`` and numpy 1.x's
      ``numpy.core``), as :func:`_numpy_reconstruct`, and ``numpy.ndarray``
      as a stand-in that cannot be called (:class:`_NumpyArrayName`):
      calling ``ndarray`` itself can lay object pointers over file bytes.
    * ``numpy._core.multiarray.scalar`` (and ``numpy.core``'s): it takes
      only a dtype object, and the only ones a pickle can get are the
      shared numeric dtypes above.

    Left out, so a checkpoint holding them is refused with an error that
    names the dtype class (e.g. ``numpy.dtypes.StrDType``): numpy str
    (``U``), bytes (``S``), void and structured (``V``), datetime64 (``M``),
    timedelta64 (``m``), object (``O``) and ``StringDType`` arrays and
    scalars, because numpy rebuilds them from fresh dtype objects whose
    ``__setstate__`` sets their memory layout from the file. MMEngine
    writes only float and integer numpy values. Also not kept: a numpy
    dtype's non-native byte order and its ``metadata`` (the shared dtypes
    cannot hold them); :func:`foreign_byte_order` finds the former, so a
    loader can refuse the file rather than read its values swapped.

    Returns:
        list: Entries for :func:`torch.serialization.add_safe_globals`.
    """
    multiarray = np._core.multiarray
    entries: List[Union[Callable, Tuple[Callable, str]]] = [
        (_numpy_dtype, 'numpy.dtype'),
        (_NumpyArrayName, 'numpy.ndarray'),
        (np.ndarray, _NDARRAY_STATE_ONLY),
        # numpy >= 2 writes ``numpy._core``; numpy 1.x wrote ``numpy.core``.
        (_numpy_reconstruct, 'numpy._core.multiarray._reconstruct'),
        (_numpy_reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy._core.multiarray.scalar'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
    ]
    entries.extend(_numeric_dtype_classes())
    return entries


def multibyte_dtypes_made() -> int:
    """How many multi-byte numpy dtypes the guard has handed out so far in
    this process: a change during a load means the file held multi-byte
    numpy values, whose byte order :func:`foreign_byte_order` checks."""
    return _multibyte_dtypes_made


def unsafe_numpy_entries() -> List[str]:
    """The entries on PyTorch's allow-list, added by other code, that would
    undo the guards: numpy's own ``dtype``, ``ndarray``, ``_reconstruct`` or
    a non-numeric dtype class, under any name. (An entry that replaces one
    of :func:`numpy_safe_globals`' stand-ins under its name is a conflict
    the caller finds by comparing names.)

    Returns:
        list[str]: Their names, sorted; empty if there are none.
    """
    numeric = set(_numeric_dtype_classes())
    unsafe = (np.dtype, np.ndarray, np._core.multiarray._reconstruct)
    found = []
    for entry in torch.serialization.get_safe_globals():
        if isinstance(entry, tuple):
            entry, name = entry
        else:
            name = f'{entry.__module__}.{entry.__qualname__}'
        if name == _NDARRAY_STATE_ONLY:
            continue
        if any(entry is f for f in unsafe) or (isinstance(entry, type)
                                               and issubclass(entry, np.dtype)
                                               and entry not in numeric):
            found.append(name)
    return sorted(found)


def foreign_byte_order(filename: str) -> Optional[str]:
    """The non-native byte order (``'>'`` or ``'<'``) of numpy values in a
    checkpoint file, or None. :func:`_numpy_dtype` gives native dtypes,
    which would read such values swapped."""
    foreign = '>' if sys.byteorder == 'little' else '<'
    return foreign if foreign in numpy_byte_orders(filename) else None
