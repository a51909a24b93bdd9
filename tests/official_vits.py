# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A tiny ViT state dict in the official (VideoMAE/MAE, timm) key layout."""
import torch
from mmengine.registry import MODELS, init_default_scope


def tiny_mmaction_vit() -> torch.nn.Module:
    """mmaction2's tiny ViT (random weights, seed 0)."""
    init_default_scope('mmaction')
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='VisionTransformer',
            img_size=32,
            patch_size=16,
            embed_dims=64,
            depth=2,
            num_heads=2,
            num_frames=4))


def official_layout_vit() -> dict:
    """mmaction2's tiny ViT (random weights, seed 0), its patch embedding
    named as the official VideoMAE code and timm name it."""
    state = tiny_mmaction_vit().state_dict()
    return {
        k.replace('patch_embed.projection', 'patch_embed.proj'): v
        for k, v in state.items()
    }
