# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Find a hook type among a config's hook entries, by one rule.

The checks made before the Runner looked for their hook in the config each
by its own rule: the AdapterHook's presence by subclass (in
``custom_hooks`` only), its arguments and plan by the exact class, the
place of a plan's refusal by the type name's last part, the
``ConfigCheckHook``'s heads by subclass in both lists. A subclass of
``AdapterHook`` was then taken as present, but its arguments and plan went
unchecked. :func:`hook_entries` is the one rule: an entry is of a hook
type if the class its ``type`` builds (looked up as the Runner will: the
entry's ``_scope_``, else the config's ``default_scope``) is that type or
a subclass of it. The type is its class or its registered name
(``'AdapterHook'``, looked up where the entry's ``type`` is): the
modules that the hook's own module imports (``adapter_hook_cfg``,
``plan_argument_place``) may not import the hook back. The rule lives
here, below them all.
"""
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple, Union

from mmengine.config import Config
from mmengine.registry import HOOKS

from .registry_names import (lookup_type, registered, unregistered_type,
                             use_default_scope)

__all__ = [
    'HookEntry', 'HOOK_SECTIONS', 'hook_entries', 'section_entries',
    'check_hook_types'
]

#: The config's lists of hooks, in the order the Runner registers them.
HOOK_SECTIONS = ('default_hooks', 'custom_hooks')


class HookEntry(NamedTuple):
    """A config entry of a hook type.

    Attributes:
        key (str): ``default_hooks.NAME`` or ``custom_hooks[N]``.
        position (str | int): ``NAME`` or ``N``.
        entry (dict): The entry.
        cls (type): The class it builds.
    """
    key: str
    position: Union[str, int]
    entry: dict
    cls: type


def section_entries(
        cfg: Config,
        sections: Sequence[str] = HOOK_SECTIONS) -> List[Tuple[str, Any, Any]]:
    """Every entry of the config's hook lists ``sections``, of any type
    (None, a dict without a ``type``, a built hook), in order.

    Args:
        cfg (Config): The config.
        sections (Sequence[str]): Which lists to read. Defaults to
            :data:`HOOK_SECTIONS`.

    Returns:
        list[tuple]: ``(key, position, entry)``, as :class:`HookEntry`'s
        first three fields; none of a list that is no dict
        (``default_hooks``) or no list (``custom_hooks``).
    """
    found = []
    for section in sections:
        hooks = cfg.get(section)
        if section == 'default_hooks' and isinstance(hooks, dict):
            found += [(f'{section}.{name}', name, hook)
                      for name, hook in hooks.items()]
        elif section != 'default_hooks' and isinstance(hooks, (list, tuple)):
            found += [(f'{section}[{index}]', index, hook)
                      for index, hook in enumerate(hooks)]
    return found


def hook_entries(cfg: Config,
                 hook_type: Union[type, str],
                 sections: Sequence[str] = HOOK_SECTIONS) -> List[HookEntry]:
    """The entries of ``sections`` that build ``hook_type`` or a subclass
    of it, in order.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        hook_type (type | str): The hook class, or the name it is
            registered under (``'AdapterHook'``).
        sections (Sequence[str]): Which lists to read. Defaults to
            :data:`HOOK_SECTIONS`.

    Returns:
        list[HookEntry]: The entries; an entry that is no dict, or whose
        type no registry holds, is none of them.
    """
    use_default_scope(cfg)
    found = []
    for key, position, hook in section_entries(cfg, sections):
        cls = _hook_class(hook)
        base = _hook_class(hook, hook_type)
        if isinstance(cls, type) and isinstance(base, type) and issubclass(
                cls, base):
            found.append(HookEntry(key, position, hook, cls))
    return found


def _hook_class(hook: Any, kind: Any = None) -> Any:
    """The class the config entry ``hook`` builds (or ``kind``: a class,
    or a name looked up where the entry's ``type`` is), or None."""
    if not isinstance(hook, dict):
        return None
    type_name = hook.get('type')
    if kind is None:
        kind = type_name
    elif isinstance(kind, str) and isinstance(type_name,
                                              str) and '.' in type_name:
        # 'mmaction.AdapterHook' under another default scope.
        kind = f"{type_name.split('.')[0]}.{kind}"
    return registered(HOOKS, kind, hook.get('_scope_'))


def check_hook_types(cfg: Config,
                     source: str,
                     options: Optional[dict] = None) -> None:
    """Refuse a hook entry whose ``type`` no registry holds, with the
    message the Runner's miss gets
    (:func:`~.registry_names.unregistered_type`, asked with the registry
    the entry's type was looked up in) but before the Runner: it raised it
    only once it registered the hooks, after making the work dir and its
    log.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: ``FILE: custom_hooks[0].type='AdapterHok' is not in
            the mmaction::hook registry; did you mean 'AdapterHook'? ...``
            (or the ``--cfg-options`` entry that set it).
    """
    use_default_scope(cfg)
    for _, _, hook in section_entries(cfg):
        kind = hook.get('type') if isinstance(hook, dict) else None
        if not isinstance(kind, str):
            continue
        found = lookup_type(HOOKS, kind, hook.get('_scope_'))
        if found.cls is not None:
            continue
        error = unregistered_type(kind, found.scope, found.registry, cfg,
                                  source, options)
        if error is not None:
            raise error
