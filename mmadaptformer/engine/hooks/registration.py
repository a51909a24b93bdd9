# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Register a hook on a built runner unless its config already gave one."""
from typing import Optional, Type

from mmengine.hooks import Hook
from mmengine.runner import Runner

__all__ = ['add_hook_once']


def add_hook_once(runner: Runner, hook_type: Type[Hook]) -> Optional[Hook]:
    """Register a ``hook_type()`` on ``runner`` unless it has one.

    Args:
        runner (Runner): A built runner.
        hook_type (type): The hook class, built without arguments.

    Returns:
        Hook, optional: The registered hook, or None if the runner already
        had one (from the config's ``custom_hooks``).
    """
    if any(isinstance(hook, hook_type) for hook in runner.hooks):
        return None
    hook = hook_type()
    runner.register_hook(hook)
    return hook
