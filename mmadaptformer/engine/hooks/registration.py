# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A hook registered once: added to a built runner unless its config
already gave one (:func:`add_hook_once`), or told that another hook of its
type came first in the run (:func:`registered_again`)."""
from typing import Any, Optional, Type

from mmengine.hooks import Hook
from mmengine.runner import Runner

from .hook_config_place import hook_config_keys, registered_of_type

__all__ = ['add_hook_once', 'registered_again']


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


def registered_again(runner: Any, hook: Any) -> Optional[str]:
    """Whether ``hook`` repeats an earlier hook of its type in the run:
    e.g. a ``DataHealthHook`` listed in ``custom_hooks`` again, beside the
    recipes' ``default_hooks.data_health``, which checked and counted every
    epoch twice. The hook then does nothing; the warning says so.

    Args:
        runner (Runner): The runner that holds ``hook``.
        hook (Hook): The hook.

    Returns:
        str, optional: The warning, naming the entries that registered
        them; None for the first hook of its type.
    """
    same = registered_of_type(runner, hook)
    if len(same) < 2 or same[0] is hook:
        return None
    keys = hook_config_keys(runner, same)
    this = keys[[id(h) for h in same].index(id(hook))]
    name = type(hook).__name__
    return (f'{name} is registered {len(same)} times, by '
            f'{" and ".join(keys)}: the first ({keys[0]}) runs, {this} does '
            f'nothing (each would run every check and count again). Keep '
            'one entry: remove the others (where one is in default_hooks, '
            'as the recipes\' configs/_base_/default_hooks.py hold it, '
            'remove the repeat from custom_hooks and give its arguments to '
            'that default_hooks entry).')
