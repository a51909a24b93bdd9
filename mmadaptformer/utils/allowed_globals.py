# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which globals PyTorch's ``weights_only`` loading may resolve.

:func:`is_allowed_global` answers it by name, for a global found in a
checkpoint's pickle without loading it
(:mod:`mmadaptformer.utils.pickle_scan`): PyTorch's built-in allow-list,
plus what ``torch.serialization.add_safe_globals`` added (this package's
included), less the modules PyTorch always blocks. PyTorch is imported only
when asked.
"""
from typing import Set

__all__ = ['is_allowed_global']

#: Modules whose globals ``weights_only`` loading refuses even when they
#: are allow-listed (``torch._weights_only_unpickler``).
_BLOCKED_MODULES = ('sys', 'os', 'posix', 'nt')


def is_allowed_global(name: str) -> bool:
    """Whether ``weights_only`` loading may resolve the global ``name``.

    Args:
        name (str): ``module.name``, with protocol-2 names mapped as
            PyTorch maps them (``__builtin__`` is ``builtins``).

    Returns:
        bool: True for PyTorch's own allow-list (``torch.Tensor``'s
        rebuild functions, ``_codecs.encode``, ``builtins.set``,
        ``collections.OrderedDict``, ...) and the globals added with
        ``torch.serialization.add_safe_globals`` (this package's
        included), except those of modules PyTorch always blocks.
    """
    import torch
    if name.rsplit('.', 1)[0] in _BLOCKED_MODULES:
        return False
    allowed = _torch_default_globals()
    for entry in torch.serialization.get_safe_globals():
        if isinstance(entry, tuple):
            allowed.add(entry[1])
        else:
            allowed.add(f'{entry.__module__}.{entry.__qualname__}')
    return name in allowed


#: PyTorch's defaults as of 2.6 to 2.14, used only where PyTorch does not
#: say them (:func:`_torch_default_globals`).
_FALLBACK_DEFAULTS = ('_codecs.encode', 'builtins.bytearray', 'builtins.set',
                      'builtins.complex', 'collections.OrderedDict',
                      'collections.Counter')


def _torch_default_globals() -> Set[str]:
    """The names on PyTorch's built-in ``weights_only`` allow-list."""
    from torch import _weights_only_unpickler
    defaults = getattr(_weights_only_unpickler, '_get_allowed_globals', None)
    if callable(defaults):
        return set(defaults())
    import torch
    names = set(_FALLBACK_DEFAULTS)
    names.update(f'torch._utils.{name}' for name in dir(torch._utils)
                 if name.startswith('_rebuild_'))
    return names
