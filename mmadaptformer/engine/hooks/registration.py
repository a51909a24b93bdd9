# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A hook registered once: added to a built runner unless its config
already gave one (:func:`add_hook_once`), or told that another hook of its
type came first in the run (:func:`registered_again`)."""
from typing import Any, List, Optional, Type

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


def _first_most_derived(hooks: List[Any]) -> Any:
    """The first of ``hooks`` whose type no other one's subclasses."""
    return next(
        h for h in hooks if not any(
            type(o) is not type(h) and isinstance(o, type(h)) for o in hooks))


def registered_again(runner: Any,
                     hook: Any,
                     family: Optional[type] = None) -> Optional[str]:
    """Whether ``hook`` repeats another hook of its family in the run: e.g.
    a ``DataHealthHook`` listed in ``custom_hooks`` again, beside the
    recipes' ``default_hooks.data_health``, which checked and counted every
    epoch twice. The hook then does nothing; the warning says so.

    Of the runner's hooks of ``family`` (instances of it, subclasses
    included) one runs: the first of those whose class no other one's
    subclasses. So a user's subclass in ``custom_hooks`` runs in place of
    the recipes' hook it extends, wherever it is listed; two hooks of one
    class run the first.

    Args:
        runner (Runner): The runner that holds ``hook``.
        hook (Hook): The hook.
        family (type, optional): The hook class whose instances repeat each
            other. Defaults to None, ``type(hook)`` (its subclasses too).

    Returns:
        str, optional: The warning, naming the entries that registered
        them; None for the hook that runs.
    """
    family = type(hook) if family is None else family
    hooks = [h for h in getattr(runner, 'hooks', ()) if isinstance(h, family)]
    if not any(h is hook for h in hooks):
        return None
    runs = _first_most_derived(hooks)
    if runs is hook:
        return None
    keys = dict(zip(map(id, hooks), hook_config_keys(runner, hooks)))
    this, first = keys[id(hook)], keys[id(runs)]
    name = type(hook).__name__
    if type(runs) is type(hook):
        same = registered_of_type(runner, hook)
        listed = ' and '.join(keys[id(h)] for h in same)
        return (f'{name} is registered {len(same)} times, by {listed}: the '
                f'first ({first}) runs, {this} does nothing (each would run '
                'every check and count again). Keep one entry: remove the '
                'others (where one is in default_hooks, as the recipes\' '
                'configs/_base_/default_hooks.py hold it, remove the repeat '
                'from custom_hooks and give its arguments to that '
                'default_hooks entry).')
    runner_name = type(runs).__name__
    return (f'{name} ({this}) does nothing: {runner_name} ({first}), a '
            f'subclass of it, runs in its place (each would run every check '
            f'and count again). Keep one entry: remove {this}, or set its '
            f"type='{runner_name}' (and its arguments) and remove {first}.")
