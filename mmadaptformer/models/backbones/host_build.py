# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Build a stock host backbone and map its state-dict keys.

The frozen-host wrappers keep the host as their child ``backbone``
(:data:`INNER`) but save and load the host's own keys, without that prefix:
:func:`to_outer_key` and :func:`to_inner_key` translate between the two, and
the wrappers' state-dict hooks (:func:`save_outer_keys`,
:func:`load_pre_hook`, :func:`load_post_hook`) apply them.
"""
import copy

from mmaction.registry import MODELS as MMACTION_MODELS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from torch import nn

from .host_init import host_build_cfg

__all__ = [
    'INNER', 'build_host_backbone', 'to_outer_key', 'to_inner_key',
    'save_outer_keys', 'load_pre_hook', 'load_post_hook'
]

#: Name of the wrapped host; it never shows up in state-dict keys.
INNER = 'backbone'
_TOOLBOXES = (('mmaction', MMACTION_MODELS), ('mmpretrain', MMPRETRAIN_MODELS))


def build_host_backbone(cfg: dict) -> nn.Module:
    """Build a stock backbone from the mmaction or mmpretrain registry.

    Inside a runner (or after :func:`mmengine.registry.init_default_scope`)
    the default scope decides, as for any other module. Without a default
    scope an unscoped type is looked up in both toolboxes and must be found
    in exactly one of them.

    Args:
        cfg (dict): The backbone config, e.g.
            ``dict(type='mmpretrain.VisionTransformer', arch='b')``.

    Returns:
        nn.Module: The built backbone, not initialised. A host whose
        constructor takes no ``init_cfg`` (a plain ``nn.Module`` such as
        mmaction2's TimeSformer) is built without it and gets it as an
        attribute, which the wrapper applies (see
        :meth:`FrozenHostWrapper.init_host`).
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(
            'AdaptFormer backbone must be a config dict with a "type", e.g. '
            f"dict(type='VisionTransformer', arch='b'), but got {cfg!r}.")
    cfg = copy.deepcopy(cfg)
    type_name = cfg['type']
    if isinstance(type_name, str) and '.' not in type_name and \
            DefaultScope.get_current_instance() is None:
        cfg['type'] = f'{_toolbox_of(type_name)}.{type_name}'
    cls = cfg['type']
    if not isinstance(cls, type):
        # As build() looks it up: in the default scope's registry first.
        with MMENGINE_MODELS.switch_scope_and_registry(None) as registry:
            cls = registry.get(cls)
    if cls is None:
        return MMENGINE_MODELS.build(cfg)
    cfg, init_cfg = host_build_cfg(cls, cfg)
    module = MMENGINE_MODELS.build(cfg)
    if init_cfg is not None:
        module.init_cfg = init_cfg
    return module


def _toolbox_of(type_name: str) -> str:
    """The one toolbox that registers an unscoped backbone type."""
    found = {}
    for scope, registry in _TOOLBOXES:
        cls = registry.get(type_name)
        if cls is not None:
            found.setdefault(cls, scope)
    if not found:
        raise KeyError(
            f'AdaptFormer backbone type {type_name!r} is registered in '
            'neither mmaction nor mmpretrain MODELS. Check the spelling, or '
            'import the module that registers it (custom_imports).')
    if len(found) > 1:
        raise ValueError(
            f'AdaptFormer backbone type {type_name!r} is ambiguous: no '
            'default scope is set and both mmaction and mmpretrain register '
            f"it. Write type='mmaction.{type_name}' or "
            f"type='mmpretrain.{type_name}', or call "
            "mmengine.registry.init_default_scope('mmaction') (or "
            "'mmpretrain') first, as runners do from default_scope.")
    return next(iter(found.values()))


def to_outer_key(key: str, prefix: str) -> str:
    """``<prefix>backbone.<rest>`` -> ``<prefix><rest>``.

    Args:
        key (str): A state-dict key as the module tree names it.
        prefix (str): The wrapper's prefix, ending with a dot (or empty).

    Returns:
        str: The key as saved, without the inner ``backbone.``.
    """
    inner = prefix + INNER
    if key == inner:
        return prefix[:-1]
    if key.startswith(inner + '.'):
        return prefix + key[len(inner) + 1:]
    return key


def to_inner_key(key: str, prefix: str) -> str:
    """``<prefix><rest>`` -> ``<prefix>backbone.<rest>``.

    Args:
        key (str): A state-dict key as saved.
        prefix (str): The wrapper's prefix, ending with a dot (or empty).

    Returns:
        str: The key as the module tree names it.
    """
    if key == prefix[:-1]:
        return prefix + INNER
    if key.startswith(prefix):
        return prefix + INNER + '.' + key[len(prefix):]
    return key


def save_outer_keys(module: nn.Module, state_dict: dict, prefix: str,
                    local_metadata: dict) -> None:
    """State-dict post-hook: save the stock backbone's keys unchanged."""
    for key in [k for k in state_dict if to_outer_key(k, prefix) != k]:
        state_dict[to_outer_key(key, prefix)] = state_dict.pop(key)
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        for key in [k for k in metadata if to_outer_key(k, prefix) != k]:
            metadata[to_outer_key(key, prefix)] = metadata.pop(key)


def load_pre_hook(module: nn.Module, state_dict: dict, prefix: str,
                  local_metadata: dict, strict: bool, missing_keys: list,
                  unexpected_keys: list, error_msgs: list) -> None:
    """Load pre-hook: guard the frozen host (the wrapper's
    :meth:`~mmadaptformer.models.FrozenHostWrapper.before_load`), then route
    the stock keys."""
    module.before_load(state_dict, prefix)
    own = {}
    for name in list(module._parameters) + list(module._buffers):
        if prefix + name in state_dict:
            own[prefix + name] = state_dict.pop(prefix + name)
    for key in [k for k in state_dict if k.startswith(prefix)]:
        state_dict[to_inner_key(key, prefix)] = state_dict.pop(key)
    state_dict.update(own)
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        for key in [
                k for k in metadata if k == prefix[:-1] or k.startswith(prefix)
        ]:
            metadata[to_inner_key(key, prefix)] = metadata[key]
    # The post-hook is not told the prefix.
    module.__dict__['_load_prefix'] = prefix


def load_post_hook(module: nn.Module, incompatible_keys) -> None:
    """Load post-hook: report missing/unexpected keys as saved, without the
    frozen tensors an adapter-only state dict left out on purpose and whose
    fingerprints it matched (see
    :meth:`~mmadaptformer.models.FrozenHostWrapper.before_load`)."""
    prefix = module.__dict__.pop('_load_prefix', None)
    verified = module.__dict__.pop('_load_verified', frozenset())
    if prefix is None:
        return
    for keys in incompatible_keys:
        keys[:] = [to_outer_key(key, prefix) for key in keys]
    incompatible_keys.missing_keys[:] = [
        key for key in incompatible_keys.missing_keys if key not in verified
    ]
