# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A hook registered once: added to a built runner unless its config
already gave one (:func:`add_hook_once`), or told that another hook of its
type came first in the run (:func:`registered_again`)."""
from typing import Any, List, Optional, Type

from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmadaptformer.utils import ConfigError
from .hook_config_place import hook_config_key, hook_origin, registered_of_type

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


def _most_derived(hooks: List[Any]) -> List[Any]:
    """Those of ``hooks`` whose type no other one's subclasses."""
    return [
        h for h in hooks if not any(
            type(o) is not type(h) and isinstance(o, type(h)) for o in hooks)
    ]


#: Why one hook of a family runs, not each.
_WHY_ONE = 'each would run every check and count again'


def _refuse_siblings(runner: Any, family: type, runs: List[Any]) -> None:
    """Raise a :class:`ConfigError` where the most derived hooks of
    ``family`` (``runs``) are of more than one class: none of their classes
    extends the others', so no one of them runs in every other's place."""
    first = [
        h for i, h in enumerate(runs) if all(
            type(o) is not type(h) for o in runs[:i])
    ]
    if len(first) < 2:
        return
    named = [f'{type(h).__name__} ({hook_origin(runner, h)})' for h in first]
    family_name = family.__name__
    both, neither, other = (('both', 'neither subclasses the other',
                             'the other') if len(first) == 2 else
                            ('all', 'none subclasses another', 'the others'))
    raise ConfigError(
        f'{", ".join(named[:-1])} and {named[-1]} are {both} {family_name} '
        f'subclasses and {neither}: only one '
        f'{family_name} may run ({_WHY_ONE}), and which one is yours to '
        f'say. Keep one and remove {other}, or list one class that '
        f'subclasses {both} of them in their place.')


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
    class run the first. Two subclasses neither of which extends the other
    (siblings) are refused: which one the user meant to run cannot be told.

    Args:
        runner (Runner): The runner that holds ``hook``.
        hook (Hook): The hook.
        family (type, optional): The hook class whose instances repeat each
            other. Defaults to None, ``type(hook)`` (its subclasses too).

    Returns:
        str, optional: The warning, naming the entries that registered
        them; None for the hook that runs.

    Raises:
        ConfigError: If the most derived hooks of ``family`` are of two
            classes or more, naming each with its config key.
    """
    family = type(hook) if family is None else family
    hooks = [h for h in getattr(runner, 'hooks', ()) if isinstance(h, family)]
    if not any(h is hook for h in hooks):
        return None
    candidates = _most_derived(hooks)
    _refuse_siblings(runner, family, candidates)
    runs = candidates[0]
    if runs is hook:
        return None
    if type(runs) is type(hook):
        return _repeat_note(runner, hook)
    # Every hook of the family that is not the most derived class's is a
    # class it extends (the siblings were refused above).
    assert isinstance(runs, type(hook))
    name, runner_name = type(hook).__name__, type(runs).__name__
    this, first = hook_config_key(runner, hook), hook_config_key(runner, runs)
    note = (f'{name} ({hook_origin(runner, hook)}) does nothing: '
            f'{runner_name} ({hook_origin(runner, runs)}), a subclass of it, '
            f'runs in its place ({_WHY_ONE}).')
    if this is not None and first is not None:
        return (f"{note} Keep one entry: remove {this}, or set its type='"
                f"{runner_name}' (and its arguments) and remove {first}.")
    code = 'the code that registers'
    return (f'{note} Keep one: remove {this or f"{code} {name}"}, or '
            f'{first or f"{code} {runner_name}"}.')


def _repeat_note(runner: Any, hook: Any) -> str:
    """The warning for ``hook``, registered after another of its class."""
    name = type(hook).__name__
    same = registered_of_type(runner, hook)
    keys = [hook_config_key(runner, h) for h in same]
    if None in keys:
        # Which entry built which is unknown once code registered one.
        return (f'{name} is registered {len(same)} times, not all of them '
                "by the config's entries (code such as "
                'runner.register_hook registered some): the first '
                f'registered runs, the others do nothing ({_WHY_ONE}). Keep '
                'one: remove the config entry or the code that registers '
                'another.')
    this, first = keys[[h is hook for h in same].index(True)], keys[0]
    return (f'{name} is registered {len(same)} times, by '
            f'{" and ".join(keys)}: the first ({first}) runs, {this} does '
            f'nothing ({_WHY_ONE}). Keep one entry: remove the others '
            '(where one is in default_hooks, as the recipes\' '
            'configs/_base_/default_hooks.py hold it, remove the repeat '
            'from custom_hooks and give its arguments to that default_hooks '
            'entry).')
