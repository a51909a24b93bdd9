# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Hooks that injection keeps on a module under an attribute of its own,
and their removal."""
from typing import List, Type

from torch import nn

__all__ = ['remove_module_hooks']


def remove_module_hooks(model: nn.Module, attr: str,
                        hook_type: Type) -> List[str]:
    """Remove the hooks of type ``hook_type`` kept under ``attr`` on the
    modules of ``model`` (each has a ``remove()``), and the attribute.

    Args:
        model (nn.Module): Any module.
        attr (str): The attribute the hook is kept under.
        hook_type (type): The hook's class.

    Returns:
        list[str]: Names of the modules whose hook was removed (the class
        name for ``model`` itself).
    """
    removed = []
    for name, module in model.named_modules():
        hook = module.__dict__.pop(attr, None)
        if isinstance(hook, hook_type):
            hook.remove()
            removed.append(name or type(module).__name__)
    return removed
