# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tiny mmpretrain hosts and blocks that several model tests build alike."""
from typing import Sequence

from mmengine.registry import MODELS
from mmpretrain.models.backbones.beit import BEiTTransformerEncoderLayer
from torch import nn


def beit_block(dims: int) -> nn.Module:
    """A BEiT block of width ``dims`` (2 heads, feed-forward 64), with
    layer scale 0.1, relative position bias over a 2x2 window and drop
    path 0.5, so that a wrong wiring of either shows in its output."""
    return BEiTTransformerEncoderLayer(
        dims,
        2,
        64,
        layer_scale_init_value=0.1,
        window_size=(2, 2),
        use_rel_pos_bias=True,
        drop_path_rate=0.5)


def tiny_poolformer(embed_dims: Sequence[int]) -> nn.Module:
    """An mmpretrain PoolFormer of one block per stage, of the stages'
    widths ``embed_dims`` (four), MLP ratio 2 and layer scale 1e-5."""
    return MODELS.build(
        dict(
            type='mmpretrain.PoolFormer',
            arch=dict(
                layers=[1, 1, 1, 1],
                embed_dims=list(embed_dims),
                mlp_ratios=[2, 2, 2, 2],
                layer_scale_init_value=1e-5)))
