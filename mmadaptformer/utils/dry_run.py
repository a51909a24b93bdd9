# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A check's dry run of a model's load: how the load hooks know it, and
how the model and the checkpoint stay unchanged.

:func:`~mmadaptformer.utils.state_dict_diff.diff_state_dict` runs the
model's own loading code to find what would not load: on ``meta`` copies
of the checkpoint's tensors, else (a hook that reads the values, e.g.
BEiT's relative position resize) on the tensors themselves under
:class:`ReadOnly`. The package's own load hooks must tell such a run from
a real load, whatever the tensors: they ask :func:`in_dry_run` (a hook
that let go of an adapter's initial values, marked the host as loaded or
logged a load, did so for a check that loads nothing). The one write a
dry run makes on purpose, the frozen host's pretrained file read to
complete an adapter-only state dict (as the real load will), goes through
:func:`real_writes`.
"""
import contextlib
import contextvars
import re
from typing import Iterable, Iterator, Optional

import torch
from torch.overrides import TorchFunctionMode

__all__ = ['in_dry_run', 'dry_run', 'real_writes', 'ReadOnly']

_DRY_RUN = contextvars.ContextVar('mmadaptformer_dry_run', default=False)
_REAL_WRITES = contextvars.ContextVar(
    'mmadaptformer_dry_run_real_writes', default=False)


def in_dry_run() -> bool:
    """Whether the load running now is a check's dry run (:func:`dry_run`),
    on meta tensors or read-only real ones."""
    return _DRY_RUN.get()


@contextlib.contextmanager
def dry_run() -> Iterator[None]:
    """Mark the loads inside as a check's dry run (:func:`in_dry_run`)."""
    token = _DRY_RUN.set(True)
    try:
        yield
    finally:
        _DRY_RUN.reset(token)


@contextlib.contextmanager
def real_writes() -> Iterator[None]:
    """Let the code inside write the tensors a :class:`ReadOnly` keeps:
    a real load inside a dry run (the frozen host's pretrained file,
    which the dry run of an adapter-only state dict loads as the real load
    will, and marks the host loaded)."""
    token = _REAL_WRITES.set(True)
    try:
        yield
    finally:
        _REAL_WRITES.reset(token)


def _storage(tensor: torch.Tensor) -> Optional[int]:
    """Where a tensor's data lives (a view shares its base's), or None
    for a tensor without storage (meta, some subclasses)."""
    try:
        return tensor.untyped_storage().data_ptr()
    except (NotImplementedError, RuntimeError):
        return None


#: The operators that write into their left operand, and the setter of
#: ``.data`` (``param.data = other`` gives a parameter another storage);
#: the other in-place operations end with one underscore (``copy_``).
_WRITERS = frozenset(f'__{op}__'
                     for op in ('setitem', 'iadd', 'isub', 'imul', 'imatmul',
                                'itruediv', 'ifloordiv', 'imod', 'ipow',
                                'iand', 'ior', 'ixor', 'ilshift', 'irshift',
                                'set'))


class ReadOnly(TorchFunctionMode):
    """Turn every write into the given tensors (and their views) into a
    no-op: an in-place operation (``copy_`` of a checkpoint tensor into a
    parameter, ``add_``, item assignment), an ``out=`` argument, and the
    assignment of ``.data``. Shapes still check as in a real load, and the
    computations on the values (a resize) still run. Code inside
    :func:`real_writes` writes as usual.

    Args:
        tensors (Iterable[torch.Tensor]): The tensors to keep unchanged.
    """

    def __init__(self, tensors: Iterable[torch.Tensor]) -> None:
        super().__init__()
        tensors = list(tensors)
        self._ids = {id(t) for t in tensors}
        self._storages = {_storage(t) for t in tensors} - {None, 0}

    def _kept(self, value) -> bool:
        if isinstance(value, (tuple, list)):
            return any(self._kept(v) for v in value)
        return torch.is_tensor(value) and (id(value) in self._ids or
                                           _storage(value) in self._storages)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if not _REAL_WRITES.get():
            name = getattr(func, '__name__', '')
            writes = name in _WRITERS or re.fullmatch(r'[a-z]\w*[a-z0-9]_',
                                                      name) is not None
            if writes and args and self._kept(args[0]):
                return args[0]
            if self._kept(kwargs.get('out')):
                return kwargs['out']
        return func(*args, **kwargs)
