# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tiny self-supervised pre-training checkpoints, written from mmpretrain's
own pre-training configs as the toolbox saves them."""
import copy

import torch
from mmengine.hub import get_config
from mmengine.registry import MODELS, init_default_scope


def save_pretraining_file(config: str, path: str, **backbone) -> dict:
    """Build the backbone of mmpretrain's pre-training ``config`` (a path
    under its configs) with the settings ``backbone`` (tiny sizes) and save
    it as the self-supervised model's checkpoint: the backbone's keys under
    ``backbone.``, beside a tensor of the rest of the model (MAE's decoder,
    BEiT's head) that the backbone's init never reads.

    Returns:
        dict: The backbone's own state dict.
    """
    init_default_scope('mmpretrain')
    cfg = get_config(f'mmpretrain::{config}').model.backbone.to_dict()
    cfg.pop('init_cfg', None)
    cfg.update(copy.deepcopy(backbone), type=f"mmpretrain.{cfg['type']}")
    torch.manual_seed(0)
    host = MODELS.build(cfg)
    host.init_weights()
    state = {f'backbone.{k}': v for k, v in host.state_dict().items()}
    state['neck.decoder_norm.weight'] = torch.ones(32)
    torch.save(dict(state_dict=state, meta=dict(epoch=300)), path)
    return host.state_dict()
