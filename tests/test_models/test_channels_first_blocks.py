# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A declared block whose norm normalises channels-first maps (PoolFormer's
GroupNorm, ConvNeXt's LayerNorm2d) is refused at injection, before any
forward; channels-last blocks (SAM's (B, H, W, C)) and the supported hosts
are not."""
import copy

import pytest
import torch
from block_builders import tiny_poolformer
from mmengine.registry import MODELS
from mmpretrain.models.backbones.vit_sam import \
    TransformerEncoderLayer as SAMBlock
from torch import nn

from mmadaptformer.models import (KNOWN_BLOCK_TYPES, adapter_modules,
                                  inject_adapters)
from mmadaptformer.models.adapters.block_refusals import channels_first_norm
from mmadaptformer.models.hosts import qualname
from mmadaptformer.utils import ConfigError


def _poolformer_as_wide_as_its_maps():
    """A 64x64 image gives 16x16, 8x8, 4x4 and 2x2 maps: each stage's maps
    are as wide as they have channels."""
    return tiny_poolformer([16, 8, 4, 2])


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize('placement', ['parallel', 'sequential'])
def test_a_poolformer_as_wide_as_its_maps_is_refused_at_injection(placement):
    """Its maps' last dim equals the width, so the adapter ran over their
    width axis without an error; now the config key, the block type and
    the norm's class are named, and the model is left as it was."""
    model = _poolformer_as_wide_as_its_maps()
    before = _state(model)
    with pytest.raises(ConfigError) as info:
        inject_adapters(
            model,
            adapter=dict(bottleneck=2),
            block_types=[
                dict(
                    type='PoolFormerBlock',
                    norm='norm2',
                    ffn='mlp',
                    branch='drop_path')
            ],
            placement=placement,
            config_key='model.backbone')
    message = str(info.value)
    assert message.startswith(
        'model.backbone.block_types declares PoolFormerBlock with '
        "norm='norm2', but block 'network.0.0' (PoolFormerBlock) cannot be "
        'adapted: that norm is a GroupNorm, which normalises channels-first '
        'feature maps (B, C, H, W)')
    assert 'Linear layers over the last dim' in message
    # A GroupNorm takes only maps: no channels-last view to tell of.
    assert '(B, C, H, W), so the block runs on such maps. Its residual ' \
        'stream (the x of x + h) is such a map. An AdaptMLP' in message
    assert 'Remove PoolFormerBlock from model.backbone.block_types' in message
    assert not adapter_modules(model)
    assert not any(hasattr(m, '_adapter_router') for m in model.modules())
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize('wiring', [
    dict(ffn='pointwise_conv2', branch='pointwise_conv2'),
    dict(ffn='pointwise_conv2', branch='drop_path'),
])
def test_a_convnext_block_is_refused_at_injection(wiring):
    """ConvNeXt's norm is a LayerNorm2d that it calls on channels-last
    maps (linear_pw_conv): the adapter took them without an error at any
    size (declared with ``branch='pointwise_conv2'``), though its residual
    stream is channels-first. Refused by the norm's class, under another
    ``config_key``, for that reason: the refusal said the last dim was a
    spatial axis, which the norm's channels-last input is not."""
    model = MODELS.build(
        dict(
            type='mmpretrain.ConvNeXt',
            arch=dict(depths=[1, 1, 1, 1], channels=[8, 8, 8, 8])))
    with pytest.raises(ConfigError) as info:
        inject_adapters(
            model,
            adapter=dict(bottleneck=2),
            block_types=[dict(type='ConvNeXtBlock', norm='norm', **wiring)],
            config_key='model.backbone.backbone')
    assert str(info.value).startswith(
        'model.backbone.backbone.block_types declares ConvNeXtBlock with '
        "norm='norm', but block 'stages.0.0' (ConvNeXtBlock) cannot be "
        'adapted: that norm is a LayerNorm2d, which normalises '
        'channels-first feature maps (B, C, H, W)')
    assert 'Its residual stream (the x of x + h) is such a map, even where ' \
        'the block calls the norm on a channels-last view of it (as ' \
        "ConvNeXt's does with linear_pw_conv=True). An AdaptMLP adds " \
        'Linear layers over the last dim, and their output to that stream, ' \
        'so it needs the channels last' in str(info.value)
    assert not adapter_modules(model)


def test_sams_channels_last_block_as_wide_as_its_maps_is_not_refused():
    """A guard of kept behaviour: SAM's ViT block runs on (B, H, W, C) with
    an nn.LayerNorm; declared through ``block_types`` on maps as wide as
    they have channels, it is adapted over its channels."""
    dims = 8
    torch.manual_seed(0)
    block = SAMBlock(dims, 2, 16, use_rel_pos=True, window_size=4)
    stock = copy.deepcopy(block)
    assert inject_adapters(
        block,
        adapter=dict(bottleneck=2),
        block_types=[
            dict(type='TransformerEncoderLayer', norm='ln2', ffn='ffn')
        ]) == ['TransformerEncoderLayer']
    seen = []
    block.adaptmlp.register_forward_hook(
        lambda module, args, out: seen.append(args[0].shape))
    nn.init.normal_(block.adaptmlp.up_proj.weight)
    x = torch.randn(2, dims, dims, dims)
    assert not torch.allclose(block(x), stock(x))
    assert seen == [torch.Size([2, dims, dims, dims])]


def test_the_supported_hosts_declared_as_they_are_known_are_not_refused():
    """A guard of kept behaviour: no known block type's ``norm`` is a
    channels-first norm, so declaring one in ``block_types`` exactly as
    the package knows it is accepted (checked on mmpretrain's ViT, Swin,
    DeiT3 and SAM ViT, mmaction2's VideoMAE ViT and Swin3D blocks)."""
    from mmaction.models.backbones.swin import SwinTransformerBlock3D
    from mmaction.models.backbones.vit_mae import Block
    from mmpretrain.models.backbones.deit3 import DeiT3TransformerEncoderLayer
    from mmpretrain.models.backbones.swin_transformer import SwinBlock
    from mmpretrain.models.backbones.vision_transformer import \
        TransformerEncoderLayer
    blocks = [
        Block(16, num_heads=2),
        SwinTransformerBlock3D(16, 2, window_size=(2, 2, 2)),
        TransformerEncoderLayer(16, 2, 32),
        DeiT3TransformerEncoderLayer(16, 2, 32),
        SwinBlock(16, 2, window_size=2),
        SAMBlock(16, 2, 32),
    ]
    for block in blocks:
        spec = dict(KNOWN_BLOCK_TYPES[qualname(type(block))])
        spec.pop('ffn_type', None)
        spec.pop('inline_drop_path', None)
        assert inject_adapters(
            block, block_types=[dict(type=qualname(type(block)),
                                     **spec)]) == [type(block).__name__]


class LayerNorm2d(nn.LayerNorm):
    """Another library's LayerNorm2d (timm's, mmdet's), known by name."""


class MyNorm(LayerNorm2d):
    """A subclass of one, known by its base."""


@pytest.mark.parametrize('norm,name', [
    (nn.GroupNorm(1, 8), 'GroupNorm'),
    (nn.BatchNorm2d(8), 'BatchNorm2d'),
    (nn.BatchNorm3d(8), 'BatchNorm3d'),
    (nn.InstanceNorm2d(8), 'InstanceNorm2d'),
    (LayerNorm2d(8), 'LayerNorm2d'),
    (MyNorm(8), 'LayerNorm2d'),
    (nn.LayerNorm(8), None),
    (nn.BatchNorm1d(8), None),
    (nn.SyncBatchNorm(8), None),
    (nn.Identity(), None),
])
def test_channels_first_norms_are_told_by_their_class(norm, name):
    """BatchNorm1d and SyncBatchNorm also normalise flattened tokens
    (B * N, C) channels last (LeViT), so they are not refused."""
    assert channels_first_norm(norm) == name


def test_mmpretrains_layernorm2d_is_channels_first():
    from mmpretrain.models.utils import LayerNorm2d as Upstream
    assert channels_first_norm(Upstream(8)) == 'LayerNorm2d'


class _VideoConvBlock(nn.Module):
    """x + mlp(norm2(x)) on (B, C, T, H, W) clips, with 1x1x1
    convolutions."""

    def __init__(self, dims=8):
        super().__init__()
        self.norm2 = nn.BatchNorm3d(dims)
        self.mlp = nn.Sequential(
            nn.Conv3d(dims, 2 * dims, 1), nn.GELU(),
            nn.Conv3d(2 * dims, dims, 1))

    def forward(self, x):
        return x + self.mlp(self.norm2(x))


def test_a_norm_of_clips_is_named_with_the_clips_layout():
    """A 3D norm normalises (B, C, T, H, W) clips; the refusal said
    (B, C, H, W) maps whatever the norm."""
    model = _VideoConvBlock()
    with pytest.raises(ConfigError) as info:
        inject_adapters(
            model,
            block_types=[
                dict(type='_VideoConvBlock', norm='norm2', ffn='mlp')
            ])
    assert 'that norm is a BatchNorm3d, which normalises channels-first ' \
        'feature maps (B, C, T, H, W), so the block runs on such maps.' \
        in str(info.value)
    assert not adapter_modules(model)
