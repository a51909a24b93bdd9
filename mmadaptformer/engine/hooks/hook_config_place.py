# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Where a hook's argument was set, for the hook's own refusals.

A hook refuses an argument only once the Runner runs it, and it does not
know its config key: ``AtomicCheckpointHook takes no argument foo=1``
named neither ``default_hooks.checkpoint.foo`` nor the ``--cfg-options``
entry that set it, while the refusals made before the Runner is built name
both (:func:`~mmadaptformer.utils.config_place.mistake_place`).
:func:`hook_argument_place` finds the hook's key in the Runner's config
(``default_hooks.checkpoint``, ``custom_hooks[0]``) and names the
``--cfg-options`` entry that set the argument as the user typed it, the
tools' options being known while they run
(:func:`~mmadaptformer.utils.config_place.given_cfg_options`):
``--cfg-options default_hooks.checkpoint.foo=1``, or, for an entry that
set a key above it, ``default_hooks.checkpoint.foo = 1, set by
--cfg-options default_hooks.checkpoint={...}``. A value no entry set is
the config file's if the file, read again, holds it.
"""
from typing import Any, List, Optional, Tuple

from mmengine.registry import HOOKS, DefaultScope
from mmengine.runner import get_priority

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.config_loading import load_config_file
from mmadaptformer.utils.config_place import (ABSENT, config_key,
                                              given_cfg_options, option_key,
                                              option_name, option_place,
                                              value_at)
from mmadaptformer.utils.registry_names import registered

__all__ = [
    'hook_config_key', 'hook_config_keys', 'registered_of_type', 'hook_place',
    'hook_origin', 'hook_argument_place'
]

#: How a hook that no config entry of its type can have built is named.
_OUTSIDE = 'registered outside the config, by code such as ' \
    'runner.register_hook'

#: The order MMEngine's Runner registers its default hooks in
#: (``Runner.register_default_hooks``, MMEngine 0.10): a config's
#: ``default_hooks`` entry of one of these names takes its place, the
#: config's other entries follow in their order, then ``custom_hooks``.
_DEFAULT_HOOK_ORDER = ('runtime_info', 'timer', 'sampler_seed', 'logger',
                       'param_scheduler', 'checkpoint')


def _runner_scope(runner: Any) -> Optional[str]:
    """The default scope the Runner built its hooks in: its own
    (``Runner.default_scope``), else its config's ``default_scope``, else
    None (the current one)."""
    scope = getattr(runner, 'default_scope', None)
    if isinstance(scope, DefaultScope):
        return scope.scope_name
    cfg = getattr(runner, 'cfg', None)
    return None if cfg is None else cfg.get('default_scope')


def _is_hook_cfg(hook_cfg: Any, hook: Any, scope: Optional[str]) -> bool:
    """Whether the config entry ``hook_cfg`` built ``hook``: its ``type``
    builds the hook's class, looked up as the Runner did (the entry's
    ``_scope_``, else the runner's ``scope``), so that
    ``'mmpretrain.VisualizationHook'`` is not mmaction's hook of that name
    and a name registered apart from its class's is that class."""
    if hook_cfg is hook:
        return True
    if not isinstance(hook_cfg, dict):
        return False
    return registered(HOOKS, hook_cfg.get('type'),
                      hook_cfg.get('_scope_') or scope) is type(hook)


def _entries_of(runner: Any, hook: Any) -> List[Tuple[str, Any]]:
    """``(key, entry)`` of the runner's config entries that build
    ``hook``'s class, in the order the Runner registered them; none without
    a config."""
    cfg = getattr(runner, 'cfg', None)
    if cfg is None:
        return []
    scope = _runner_scope(runner)
    return [(key, hook_cfg) for key, hook_cfg in _registered_entries(cfg)
            if _is_hook_cfg(hook_cfg, hook, scope)]


def registered_of_type(runner: Any, hook: Any) -> List[Any]:
    """The runner's hooks of ``hook``'s type, in the order it holds them."""
    return [h for h in getattr(runner, 'hooks', ()) if type(h) is type(hook)]


def hook_config_key(runner: Any, hook: Any) -> Optional[str]:
    """The config key of the entry that built ``hook``:
    ``default_hooks.NAME`` or ``custom_hooks[N]``; None if the runner has
    no config, none of its entries is of the hook's type, or which entry
    built the hook cannot be told.

    The runner's hooks of the hook's type are matched to the config's
    entries of that type in the order the Runner registered them. When
    their numbers differ, a hook of the type was registered outside the
    config (``runner.register_hook``, a Runner subclass) or one was
    removed: any entry named could be another hook's, so none is.

    Args:
        runner (Runner): The runner that holds ``hook``.
        hook (Hook): The hook.
    """
    entries = [(key, _entry_priority(hook_cfg, hook))
               for key, hook_cfg in _entries_of(runner, hook)]
    same = registered_of_type(runner, hook)
    if not any(h is hook for h in same):
        # Not registered (yet): one entry of its type is the only
        # candidate; among several, which one is unknown.
        return entries[0][0] if len(entries) == 1 else None
    if len(same) != len(entries):
        return None
    # The runner registered the entries in config order, each after the
    # hooks of its priority or a higher one, so its hooks of the type are
    # the entries sorted (stably) by priority.
    entries = sorted(entries, key=lambda entry: entry[1])
    return entries[[h is hook for h in same].index(True)][0]


def hook_config_keys(runner: Any, hooks: List[Any]) -> List[str]:
    """Where ``hooks`` came from, one name each, to list them together:
    :func:`hook_config_key` of each; a hook no entry is named for is said
    to be registered outside the config.

    Where the runner holds more hooks of a type than the config builds
    (code registered more), which entry built which cannot be told, but
    what built them all can: those hooks get the config's entries of the
    type, in order, and the others are said to be registered outside the
    config (so the names are right as a list, not hook by hook). Where it
    holds fewer (some were removed), they are named as :func:`hook_place`
    names them.

    Args:
        runner (Runner): The runner that holds ``hooks``.
        hooks (list[Hook]): The hooks.
    """
    names = [hook_config_key(runner, hook) for hook in hooks]
    for kind in {type(hook) for hook in hooks}:
        untold = [
            i for i, hook in enumerate(hooks)
            if type(hook) is kind and names[i] is None
        ]
        if not untold:
            continue
        hook = hooks[untold[0]]
        entries = [key for key, _ in _entries_of(runner, hook)]
        if len(registered_of_type(runner, hook)) < len(entries):
            for i in untold:
                names[i] = _untold_place(runner, hooks[i]) or \
                    'a hook registered outside the config'
            continue
        entries = [key for key in entries if key not in names]
        for i in untold:
            names[i] = entries.pop(0) if entries else \
                'a hook registered outside the config'
    return names


def hook_origin(runner: Any, hook: Any) -> str:
    """Where ``hook`` came from, to name it beside the hook's class: its
    config key (:func:`hook_config_key`); where the runner holds another
    number of hooks of its type than the config builds, that which entry
    built it cannot be told, worded as :func:`hook_place` words it (a
    config-built hook is then no hook registered outside the config);
    else that code such as ``runner.register_hook`` registered it.

    Args:
        runner (Runner): The runner that holds ``hook``.
        hook (Hook): The hook.
    """
    return hook_config_key(runner, hook) or _untold_place(runner,
                                                          hook) or _OUTSIDE


def _untold_place(runner: Any, hook: Any) -> Optional[str]:
    """Why no config key is named for ``hook``, a registered hook of a type
    that the config builds too, when the runner holds another number of
    hooks of that type than the config builds; else None."""
    same = registered_of_type(runner, hook)
    if not any(h is hook for h in same):
        return None
    built = len(_entries_of(runner, hook))
    if not built or built == len(same):
        return None
    name = type(hook).__name__
    return (f'config entry unknown (the runner holds {len(same)} {name} '
            f'hooks and its config builds {built}: a hook of the type was '
            'registered or removed outside the config, so which entry, if '
            'any, built this one cannot be told)')


def _registered_entries(cfg: Any) -> List[Tuple[str, Any]]:
    """``(key, entry)`` of the config's hook entries, in the order the
    Runner registers them."""
    default_hooks = cfg.get('default_hooks') or {}
    names = [name for name in _DEFAULT_HOOK_ORDER if name in default_hooks]
    names += [name for name in default_hooks if name not in names]
    return [
        (f'default_hooks.{name}', default_hooks[name]) for name in names
    ] + [(f'custom_hooks[{index}]', hook_cfg)
         for index, hook_cfg in enumerate(cfg.get('custom_hooks') or [])]


def _entry_priority(hook_cfg: Any, hook: Any) -> int:
    """The priority the Runner gave the hook built from ``hook_cfg``: the
    entry's ``priority``, else the hook's class's."""
    if isinstance(hook_cfg, dict) and hook_cfg.get('priority') is not None:
        return get_priority(hook_cfg['priority'])
    return get_priority(getattr(hook_cfg, 'priority', type(hook).priority))


def hook_place(runner: Any, hook: Any) -> Optional[str]:
    """``FILE: KEY``, the hook's config key (:func:`hook_config_key`) in the
    runner's config file, to lead a refusal of the hook's settings; the
    ``--cfg-options`` entry instead if one set the hook's entry as a whole
    (``--cfg-options KEY=...``, or ``KEY, set by --cfg-options
    ABOVE=...``); ``config entry unknown (...)`` where the runner's hooks
    of the type do not match the config's in number; None if the key is
    not found.

    Args:
        runner (Runner): The runner that holds ``hook``.
        hook (Hook): The hook.
    """
    key = hook_config_key(runner, hook)
    if key is None:
        return _untold_place(runner, hook)
    options = given_cfg_options()
    given = option_key(key, options)
    # An entry that set one argument beneath leaves the rest the file's.
    if given is not None and \
            not config_key(given).startswith((f'{key}.', f'{key}[')):
        return option_place(key, options)
    source = getattr(runner.cfg, 'filename', None)
    return f'{source}: {key}' if source else key


def _same(given: Any, value: Any) -> bool:
    # A config file's tuple is a list once merged, and the reverse.
    if isinstance(given, (list, tuple)) and isinstance(value, (list, tuple)):
        return list(given) == list(value)
    return given == value


def hook_argument_place(runner: Any, hook: Any, argument: str,
                        value: Any) -> Optional[str]:
    """Where the hook's ``argument`` (of value ``value``) was set, to lead
    its refusal.

    In a tool's run, whose ``--cfg-options`` are known
    (:func:`~mmadaptformer.utils.config_place.given_cfg_options`): the
    entry that set it, as ``option_place`` names it (``--cfg-options
    KEY=VALUE``, or ``KEY = VALUE, set by --cfg-options ABOVE=...`` for an
    entry that set a key above it); else ``FILE: KEY = VALUE`` if the config
    file holds that value; else ``KEY = VALUE``. Outside a tool's run:
    ``FILE: KEY = VALUE`` if the config file holds that value, else
    ``--cfg-options KEY=VALUE``. ``KEY = VALUE`` where the runner's config
    has no file or it can no longer be read; ``config entry unknown (...)``
    where the runner's hooks of the type do not match the config's in
    number; None if the hook's key is not found (:func:`hook_config_key`).

    Args:
        runner (Runner): The runner that holds ``hook``.
        hook (Hook): The hook.
        argument (str): The argument's name.
        value (Any): Its value.
    """
    key = hook_config_key(runner, hook)
    if key is None:
        return _untold_place(runner, hook)
    key = f'{key}.{argument}'
    options = given_cfg_options()
    if options is not None:
        place = option_place(key, options, value)
        if place is not None:
            return place
    source = getattr(runner.cfg, 'filename', None)
    if not source:
        return f'{key} = {value!r}'
    # The runner's config is the merged one (the file, the options, what
    # the tool or the user's code set since): only the file, read again,
    # says whether the value is the file's. Read here, once a hook refuses
    # (0.07 to 0.1 s for the recipes), not kept apart on every run's path.
    try:
        in_file = value_at(load_config_file(source).to_dict(), key)
    except (ConfigError, OSError):
        # Gone or broken since the run started: where it was set is
        # unknown, so say the key alone.
        return f'{key} = {value!r}'
    if in_file is not ABSENT and _same(in_file, value):
        return f'{source}: {key} = {value!r}'
    if options is not None:
        # Neither the file nor an option: the tool itself set it. Name no
        # --cfg-options entry that was never given.
        return f'{key} = {value!r}'
    return f'--cfg-options {option_name(key)}={value!r}'
