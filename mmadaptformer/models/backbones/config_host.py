# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The host backbone a config describes, and how the model checks build it
without its weights.

The host is ``model.backbone``, or the stock backbone inside an
AdaptFormer or VPT wrapper (``model.backbone.backbone``). The checks that
read a built host (:func:`~.host_outputs.check_host_outputs`,
:func:`~.head_width.check_head_width`) share one build of it, made by
:func:`~.config_check.check_model_config`.
"""
from typing import Mapping, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import MODELS
from torch import nn

from ...utils.registry_names import registered, use_default_scope
from .base_wrapper import FrozenHostWrapper

__all__ = ['config_host', 'build_without_weights']


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


def build_without_weights(backbone: Mapping) -> Optional[nn.Module]:
    """``backbone`` built without weights on the meta device where its
    constructor allows (mmpretrain's ViT-B: 0.01 s), else on the CPU (a
    constructor that reads its drop-path rates with ``.item()``: Swin-B
    0.3 s); None if it cannot be built, which the Runner reports when it
    builds it.

    Args:
        backbone (Mapping): The backbone's config, with its ``type``.
    """
    built_cfg = backbone.to_dict() if hasattr(backbone,
                                              'to_dict') else dict(backbone)
    for device in ('meta', 'cpu'):
        try:
            with torch.device(device):
                return MODELS.build(built_cfg)
        except Exception:  # the Runner's build names a real mistake
            continue
    return None
