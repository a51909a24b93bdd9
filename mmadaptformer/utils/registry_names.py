# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a config's ``type`` names in MMEngine's registries, and the names
closest to one it misspelled.

A ``type`` that no registry holds ends MMEngine's tools with ``KeyError:
'AdaptFormr is not in the mmaction::model registry ...'``, raised wherever
the Runner builds it, naming neither the file nor the key.
:func:`registry_miss` (which
:func:`~.config_mistakes.naming_config_mistakes` raises) turns it into a
:class:`~.config_error.ConfigError` naming the file (or the
``--cfg-options`` entry), the config keys, the registry and the registered
names closest to it. :func:`lookup_type`, :func:`registered` and
:func:`use_default_scope` look a name up as the Runner will;
:func:`close_hint` is the "did you mean" of any refused name.
"""
import difflib
import re
from typing import Any, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import mmengine.registry
from mmengine.config import Config
from mmengine.registry import Registry, init_default_scope

from .config_error import ConfigError
from .config_place import config_key, option_key, option_place

__all__ = [
    'registry_miss', 'unregistered_type', 'not_registered', 'typed_dicts',
    'config_dicts', 'close_hint', 'TypeLookup', 'lookup_type', 'registered',
    'use_default_scope'
]

#: MMEngine's message for a ``type`` that its registry lacks
#: (``build_from_cfg``, ``build_runner_from_cfg``, schedulers).
# A registry's name may have spaces: 'data sampler', 'parameter scheduler'.
_REGISTRY_MISS = re.compile(r'^(\S+) is not in the (?:(\w+)::)?(\w[\w ]*?) '
                            r'registry\. Please check whether the value of')


def _registry(scope: Optional[str], name: str) -> Optional[Registry]:
    # A child may be named apart from its root: mmpretrain's
    # 'optimizer_wrapper' is a child of MMEngine's 'optim_wrapper'.
    for root in vars(mmengine.registry).values():
        if not isinstance(root, Registry) or root.parent is not None:
            continue
        child = None if scope in (None, root.scope) else \
            root.children.get(scope)
        if child is not None and child.name == name:
            return child
        if root.name == name:
            return root if child is None and scope in (None, root.scope) \
                else child
    return None


def _close_names(type_name: str, scope: Optional[str], name: str) -> List[str]:
    """Registered names like ``type_name``, in the registry and those it
    falls back to; never a private one (``_Name``: a test's or a
    module's own helper, not a type to give in a config)."""
    names = set()
    registry = _registry(scope, name)
    while registry is not None:
        names.update(n for n in registry.module_dict if not n.startswith('_'))
        registry = registry.parent
    return difflib.get_close_matches(type_name, sorted(names), n=3)


def config_dicts(node, prefix: str = '') -> Iterator[Tuple[str, dict]]:
    """``(key, dict)`` of every dict in a config or a part of it, through
    dicts and lists, outer before inner (``model.backbone``,
    ``param_scheduler[0]``; ``prefix`` for ``node`` itself)."""
    if isinstance(node, dict):
        yield prefix, node
        for key, value in node.items():
            yield from config_dicts(value,
                                    f'{prefix}.{key}' if prefix else str(key))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from config_dicts(value, f'{prefix}[{index}]')


def typed_dicts(node, prefix: str = '') -> Iterator[Tuple[str, dict]]:
    """``(key, dict)`` of every dict in a config (``cfg.to_dict()``) that
    has a ``type``, outer before inner (:func:`config_dicts`)."""
    return ((key, value) for key, value in config_dicts(node, prefix)
            if 'type' in value)


def close_hint(name: str, names: Sequence[str]) -> str:
    """`` (did you mean 'x' or 'y'?)`` for the ``names`` closest to
    ``name``; ``''`` if none is close."""
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close \
        else ''


def registry_miss(exc: BaseException,
                  cfg: Config,
                  source: str,
                  options: Optional[dict] = None) -> Optional[ConfigError]:
    """The :class:`ConfigError` for MMEngine's ``KeyError`` of a ``type``
    that is not in its registry, if ``cfg`` names that type.

    Args:
        exc (BaseException): What was raised.
        cfg (Config): The config the tool built from.
        source (str): The config file, for the message.
        options (dict, optional): The ``--cfg-options`` given, which may be
            where the type came from. Defaults to None.

    Returns:
        ConfigError, optional: An error naming the file (or option, as
        given: ``KEY = 'Name', set by --cfg-options ABOVE=...`` for one
        that set a dict or list above the key), the config keys with that
        type, the registry and the registered names
        closest to it; None if ``exc`` is another error, or the type is
        none of the config's (then the miss is no mistake of the config).
    """
    if not isinstance(exc, KeyError) or len(exc.args) != 1:
        return None
    match = _REGISTRY_MISS.match(str(exc.args[0]))
    if match is None:
        return None
    return unregistered_type(*match.groups(), cfg, source, options)


def unregistered_type(type_name: str,
                      scope: Optional[str],
                      name: str,
                      cfg: Config,
                      source: str,
                      options: Optional[dict] = None) -> Optional[ConfigError]:
    """The :class:`ConfigError` for a ``type`` that the registry ``name``
    of ``scope`` lacks, if ``cfg`` names that type (see
    :func:`registry_miss`, which reads the three from MMEngine's
    ``KeyError``).

    Args:
        type_name (str): The type that is not registered.
        scope (str, optional): The registry's scope, such as
            ``'mmaction'``.
        name (str): The registry's name, such as ``'hook'``.
        cfg (Config): The config the tool built from.
        source (str): The config file, for the message.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Returns:
        ConfigError, optional: As :func:`registry_miss`'s; None if the
        type is none of the config's.
    """
    keys = [
        f'{key}.type' if key else 'type'
        for key, node in typed_dicts(cfg.to_dict())
        if node['type'] == type_name
    ]
    if not keys:
        return None
    given = [key for key in keys if option_key(key, options) is not None]
    if not given:
        where = f'{source}: {" and ".join(keys[:3])}={type_name!r}'
    elif config_key(option_key(given[0], options)) == given[0]:
        where = option_place(given[0], options)
    else:
        # An option set a dict or list above the key (custom_hooks=[...]):
        # named as it was given, with the key it set.
        where = f'{option_place(given[0], options, type_name)}: ' \
            f'{type_name!r}'
    return not_registered(where, type_name, scope, name)


def not_registered(where: str, type_name: str, scope: Optional[str],
                   name: str) -> ConfigError:
    """The :class:`ConfigError` for ``type_name``, set at ``where``, that
    the registry ``name`` of ``scope`` lacks: ``WHERE is not in the
    SCOPE::NAME registry; did you mean ...? Check the spelling, ...``.

    Args:
        where (str): Where the name was set, such as
            ``'cfg.py: runner_type = 'Runnr''`` or the ``--cfg-options``
            entry (:func:`~.config_place.mistake_place`).
        type_name (str): The name that is not registered.
        scope (str, optional): The registry's scope, such as
            ``'mmaction'``.
        name (str): The registry's name, such as ``'runner'``.
    """
    registry = f'{scope}::{name}' if scope else name
    close = ' or '.join(map(repr, _close_names(type_name, scope, name)))
    hint = f'; did you mean {close}?' if close else '.'
    return ConfigError(
        f'{where} is not in the {registry} registry{hint} '
        'Check the spelling, or import the module that registers it '
        '(custom_imports).')


def use_default_scope(cfg: Config) -> None:
    """Make the config's ``default_scope`` (if it has one) the current
    one, as the Runner will."""
    scope = cfg.get('default_scope')
    if scope:
        init_default_scope(scope)


class TypeLookup(NamedTuple):
    """What a config's ``type`` builds, and where it was looked up.

    Attributes:
        cls (Any): The class (or the ``type`` itself where it is no name);
            None for a name the registry does not hold.
        scope (str | None): The scope of the registry it was looked up in,
            such as ``'mmaction'``.
        registry (str): That registry's name, such as ``'hook'``.
    """
    cls: Any
    scope: Optional[str]
    registry: str


def lookup_type(registry: Registry,
                kind: Any,
                scope: Optional[str] = None) -> TypeLookup:
    """Look ``type=kind`` up in ``registry`` as MMEngine's
    ``build_from_cfg`` does: ``kind`` itself unless it is a name, else the
    class registered under it in ``scope`` (the dict's ``_scope_``; None:
    the current default scope).

    Args:
        registry (Registry): The registry the Runner builds from, such as
            MMEngine's ``HOOKS``.
        kind (Any): The ``type``.
        scope (str, optional): The dict's ``_scope_``. Defaults to None.

    Returns:
        TypeLookup: The class, and the registry it was looked up in, for
        :func:`unregistered_type` to name.
    """
    if not isinstance(kind, str):
        return TypeLookup(kind, registry.scope, registry.name)
    with registry.switch_scope_and_registry(scope) as scoped:
        return TypeLookup(scoped.get(kind), scoped.scope, scoped.name)


def registered(registry: Registry, kind, scope: Optional[str] = None):
    """What ``type=kind`` builds from ``registry`` (:func:`lookup_type`'s
    class): None for a name it does not hold."""
    return lookup_type(registry, kind, scope).cls
