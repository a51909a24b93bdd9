# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A wrapper's key given to a stock backbone, or inside the one it wraps:
say where it belongs.

``model.backbone.adapter=dict(bottleneck=8)`` on a stock config (the
backbone is not wrapped in AdaptFormer) was refused as ``VisionTransformer
takes no argument 'adapter'``, and the user was left to guess that
``adapter`` belongs to the AdaptFormer wrapper, around that backbone.
"""
from typing import Dict, List, Optional

from mmengine.config import Config
from mmengine.registry import MODELS

from ...utils.config_error import ConfigError
from ...utils.config_place import mistake_place
from ...utils.registry_names import registered, use_default_scope
from ...utils.unknown_keys import named_arguments
from .base_wrapper import FrozenHostWrapper
from .config_keys import CONFIG_KEY

__all__ = ['wrapper_classes', 'refuse_wrapper_keys_on_host']

#: Keys every wrapper takes that name no setting of its own.
_COMMON = ('self', 'backbone', 'init_cfg')


def wrapper_classes() -> List[type]:
    """The frozen-host wrappers a config of the current scope can name:
    the subclasses of :class:`FrozenHostWrapper` (AdaptFormer, VPT and any
    wrapper after them) at any depth, its own subclasses first in the
    order they were defined, that the registry builds under their name.

    Returns:
        list[type]: The wrapper classes.
    """
    found: List[type] = []
    pending = FrozenHostWrapper.__subclasses__()
    while pending:
        cls = pending.pop(0)
        if cls not in found:
            found.append(cls)
            pending.extend(cls.__subclasses__())
    return [cls for cls in found if registered(MODELS, cls.__name__) is cls]


def _wrapper_keys() -> Dict[str, List[str]]:
    """Each wrapper's own key -> the wrappers that take it."""
    owners: Dict[str, List[str]] = {}
    for cls in wrapper_classes():
        for key in named_arguments(cls):
            if key not in _COMMON:
                owners.setdefault(key, []).append(cls.__name__)
    return owners


def refuse_wrapper_keys_on_host(cfg: Config,
                                source: str,
                                options: Optional[dict] = None) -> None:
    """Refuse a key of an unwrapped ``model.backbone`` that its class does
    not take and a wrapper does (``adapter``, ``num_prompts``, ...),
    saying to wrap the backbone.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the key (or the option that set it), the
            backbone's class, the wrappers that take it and the lines that
            wrap the backbone.
    """
    model = cfg.get('model')
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if not isinstance(backbone, dict) or 'type' not in backbone:
        return
    use_default_scope(cfg)
    cls = registered(MODELS, backbone['type'], backbone.get('_scope_'))
    if not isinstance(cls, type):
        return
    if issubclass(cls, FrozenHostWrapper):
        _refuse_wrapper_keys_inside(cls, backbone, source, options)
        return
    takes = set(named_arguments(cls))
    owners = _wrapper_keys()
    for key in backbone:
        if key in takes or key not in owners:
            continue
        wrapper = owners[key][0]
        named = ' or '.join(owners[key])
        where = mistake_place(source, f'{CONFIG_KEY}.{key}', options)
        raise ConfigError(
            f'{where}: {cls.__name__} takes no argument {key!r}: it is an '
            f'argument of the {named} wrapper, and {CONFIG_KEY} is not '
            f'wrapped. Wrap the stock backbone, as the README\'s "Writing '
            'your own config" does: model = dict(backbone=dict('
            f"_delete_=True, type='{wrapper}', backbone={{{{_base_."
            f'{CONFIG_KEY}}}}}, {key}=...)), with custom_hooks = '
            "[dict(type='AdapterHook')] to train only what it adds.")


def _refuse_wrapper_keys_inside(wrapper: type, backbone: dict, source: str,
                                options: Optional[dict]) -> None:
    """Refuse a key of the wrapper written one level too deep, in the
    stock backbone it wraps (``model.backbone.backbone.adapter``), which
    was ``VisionTransformer takes no argument 'adapter'``, naming neither
    the wrapper nor the key to write."""
    host = backbone.get('backbone')
    if not isinstance(host, dict) or 'type' not in host:
        return
    cls = registered(MODELS, host['type'], host.get('_scope_'))
    if not isinstance(cls, type):
        return
    takes = set(named_arguments(cls))
    own = [key for key in named_arguments(wrapper) if key not in _COMMON]
    for key in host:
        if key in takes or key not in own:
            continue
        where = mistake_place(source, f'{CONFIG_KEY}.backbone.{key}', options)
        raise ConfigError(
            f'{where}: {cls.__name__} takes no argument {key!r}: it is an '
            f'argument of the {wrapper.__name__} wrapper ({CONFIG_KEY}), '
            f'not of the stock backbone it wraps ({CONFIG_KEY}.backbone). '
            f'Write it one level up: {CONFIG_KEY}.{key}, beside '
            f'{CONFIG_KEY}.backbone.')
