# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The host backbone a config describes, and how the model checks build it
without its weights.

The host is ``model.backbone``, or the stock backbone inside an
AdaptFormer or VPT wrapper (``model.backbone.backbone``). The checks that
read a built host (:func:`~.host_outputs.check_host_outputs`,
:func:`~.head_width.check_head_width`) share one build of it, made by
:func:`~.config_check.check_model_config`.
"""
import copy
from typing import Callable, Mapping, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import MODELS
from torch import nn

from ...utils.registry_names import registered, use_default_scope
from .base_wrapper import FrozenHostWrapper

__all__ = ['config_host', 'build_without_weights', 'build_on_meta_or_cpu']


def config_host(cfg: Config) -> Optional[Tuple[str, Mapping, type]]:
    """The host of ``cfg``'s model: its config key, its config and its
    registered class.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.

    Returns:
        tuple[str, Mapping, type], optional: ``('model.backbone', config,
        class)`` for a plain host, ``('model.backbone.backbone', ...)``
        for the host inside a wrapper; None if the config gives none with
        a registered class.
    """
    model = cfg.get('model')
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if not isinstance(backbone, dict) or 'type' not in backbone:
        return None
    use_default_scope(cfg)
    key, host_cfg = 'model.backbone', backbone
    cls = registered(MODELS, backbone['type'])
    if isinstance(cls, type) and issubclass(cls, FrozenHostWrapper):
        key, host_cfg = 'model.backbone.backbone', backbone.get('backbone')
        if not isinstance(host_cfg, dict) or 'type' not in host_cfg:
            return None
        cls = registered(MODELS, host_cfg['type'])
    if not isinstance(cls, type):
        return None
    return key, host_cfg, cls


def build_on_meta_or_cpu(
    node: Mapping,
    refusal: Callable[[Exception], Optional[Exception]] = lambda e: None
) -> nn.Module:
    """``node`` built without weights: on the meta device where its
    constructor allows, else on the CPU (a constructor that reads its
    drop-path rates with ``.item()``), from a fresh copy of its config each
    time (a constructor may change the dict it is given: mmaction2's
    recognizer pops a timm backbone's ``type``).

    Args:
        node (Mapping): The module's config, with its ``type``.
        refusal (Callable): Given a build's error, the error to raise in its
            stead, for a mistake that does not depend on the device (then
            the CPU is not tried), or None. Defaults to none.

    Raises:
        Exception: ``refusal``'s error, or the CPU's build error.
    """
    built_cfg = node.to_dict() if hasattr(node, 'to_dict') else dict(node)
    for device in ('meta', 'cpu'):
        try:
            with torch.device(device):
                return MODELS.build(copy.deepcopy(built_cfg))
        except Exception as e:
            stop = refusal(e)
            if stop is not None:
                raise stop from e
            if device == 'cpu':
                raise


def build_without_weights(backbone: Mapping) -> Optional[nn.Module]:
    """``backbone`` built without weights on the meta device where its
    constructor allows (mmpretrain's ViT-B: 0.01 s), else on the CPU (a
    constructor that reads its drop-path rates with ``.item()``: Swin-B
    0.3 s); None if it cannot be built, which the Runner reports when it
    builds it.

    Args:
        backbone (Mapping): The backbone's config, with its ``type``.
    """
    try:
        return build_on_meta_or_cpu(backbone)
    except Exception:  # the Runner's build names a real mistake
        return None
