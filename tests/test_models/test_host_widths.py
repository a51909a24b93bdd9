# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every host that declares ``feature_width`` gives features that wide.

Each case builds a tiny instance of the real upstream backbone, runs its
forward on a small CPU input and compares the channel width (dim 1) of
the last tensor it returns, the one the heads read, with the width its
declared reader gives. Cases vary what the reader has to follow:
``out_indices``, ``out_type``, ``out_after_downsample``, class tokens."""
from typing import NamedTuple, Tuple

import pytest
import torch
from helpers import VIDEO_HOST
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.models.backbones.head_width import host_feature_width
from mmadaptformer.models.hosts import HOSTS, host_spec, qualname

VIDEO = (1, 3, 4, 32, 32)
IMAGE = (1, 3, 32, 32)
TINY_VIT = dict(
    embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64)
TINY_STAGES = dict(embed_dims=16, depths=[1, 1], num_heads=[1, 2])
TINY_STAGES_V2 = dict(TINY_STAGES, extra_norm_every_n_blocks=0)
TINY_TWINS = dict(
    embed_dims=[16, 32],
    depths=[1, 1],
    num_heads=[1, 2],
    patch_sizes=[4, 2],
    strides=[4, 2],
    mlp_ratios=[2, 2],
    sr_ratios=[2, 1])
TINY_MVIT = dict(
    embed_dims=16, num_layers=3, num_heads=1, downscale_indices=[1])


class Case(NamedTuple):
    """A tiny backbone config and the input shape of its forward."""
    cfg: dict
    shape: Tuple[int, ...]


SWIN3D = dict(
    type='mmaction.SwinTransformer3D', arch=TINY_STAGES, window_size=(2, 2, 2))
MVIT_VIDEO = dict(
    type='mmaction.MViT', arch=TINY_MVIT, spatial_size=32, temporal_size=4)
VIT = dict(arch=TINY_VIT, img_size=32, patch_size=16)
SAM = dict(
    type='mmpretrain.ViTSAM',
    arch=dict(TINY_VIT, global_attn_indexes=[0]),
    img_size=32,
    patch_size=16,
    window_size=1)
SWIN = dict(
    type='mmpretrain.SwinTransformer',
    arch=TINY_STAGES,
    img_size=32,
    window_size=2)
SWINV2 = dict(
    type='mmpretrain.SwinTransformerV2',
    arch=TINY_STAGES_V2,
    img_size=32,
    window_size=[2, 2])
DAVIT = dict(type='mmpretrain.DaViT', arch=TINY_STAGES, window_size=2)
TINYVIT = dict(
    type='mmpretrain.TinyViT',
    arch=dict(channels=[16, 32], num_heads=[1, 2], depths=[1, 1]),
    img_size=(32, 32),
    window_size=[2, 2])
HIVIT = dict(
    type='mmpretrain.HiViT',
    arch=dict(embed_dims=32, depths=[1, 1, 7], num_heads=2),
    img_size=32)
MOBILEVIT = dict(
    type='mmpretrain.MobileViT',
    arch=[['mobilenetv2', 16, 1, 1, 2], ['mobilevit', 24, 2, 32, 64, 1, 2]])

CASES = {
    # mmaction2
    'videomae-cls':
    Case(dict(VIDEO_HOST, use_mean_pooling=False), VIDEO),
    'videomae-mean':
    Case(dict(VIDEO_HOST), VIDEO),
    'videomae-map':
    Case(dict(VIDEO_HOST, return_feat_map=True), VIDEO),
    'swin3d':
    Case(dict(SWIN3D, out_indices=(1, )), VIDEO),
    'swin3d-first-stage':
    Case(dict(SWIN3D, out_indices=(0, )), VIDEO),
    'swin3d-after-downsample':
    Case(dict(SWIN3D, out_indices=(0, ), out_after_downsample=True), VIDEO),
    'uniformerv2':
    Case(
        dict(
            type='mmaction.UniFormerV2',
            input_resolution=32,
            width=32,
            layers=2,
            heads=2,
            t_size=4,
            return_list=[0, 1],
            n_layers=2,
            n_dim=32,
            n_head=2,
            mlp_dropout=[0.5, 0.5],
            init_cfg=None), VIDEO),
    'mvit':
    Case(dict(MVIT_VIDEO), VIDEO),
    'mvit-first-scale':
    Case(dict(MVIT_VIDEO, out_scales=[0]), VIDEO),
    'mvit-no-cls-token':
    Case(
        dict(MVIT_VIDEO, with_cls_token=False, output_cls_token=False), VIDEO),
    'timesformer':
    Case(
        dict(
            type='mmaction.TimeSformer',
            pretrained=None,
            num_frames=4,
            img_size=32,
            patch_size=16,
            embed_dims=32,
            num_heads=2,
            num_transformer_layers=1), VIDEO),
    'uniformer':
    Case(
        dict(
            type='mmaction.UniFormer',
            depth=[1, 1, 1, 1],
            embed_dim=[16, 16, 32, 48],
            head_dim=16,
            img_size=32,
            pretrained2d=False), VIDEO),
    # mmpretrain
    'vit-cls':
    Case(dict(VIT, type='mmpretrain.VisionTransformer'), IMAGE),
    'vit-avg':
    Case(
        dict(VIT, type='mmpretrain.VisionTransformer', out_type='avg_featmap'),
        IMAGE),
    'vit-featmap':
    Case(
        dict(VIT, type='mmpretrain.VisionTransformer', out_type='featmap'),
        IMAGE),
    'deit-distilled':
    Case(dict(VIT, type='mmpretrain.DistilledVisionTransformer'), IMAGE),
    'deit3':
    Case(dict(VIT, type='mmpretrain.DeiT3'), IMAGE),
    'beit':
    Case(dict(VIT, type='mmpretrain.BEiTViT'), IMAGE),
    'eva02':
    Case(dict(VIT, type='mmpretrain.ViTEVA02'), IMAGE),
    'sam':
    Case(dict(SAM, out_channels=0), IMAGE),
    'sam-neck':
    Case(dict(SAM, out_channels=24, out_type='avg_featmap'), IMAGE),
    'swin':
    Case(dict(SWIN, out_indices=(1, )), IMAGE),
    'swin-both-stages':
    Case(dict(SWIN, out_indices=(0, 1)), IMAGE),
    'swin-after-downsample':
    Case(dict(SWIN, out_indices=(0, ), out_after_downsample=True), IMAGE),
    'swinv2':
    Case(dict(SWINV2, out_indices=(1, )), IMAGE),
    'swinv2-first-stage':
    Case(dict(SWINV2, out_indices=(0, )), IMAGE),
    'mixmim':
    Case(
        dict(
            type='mmpretrain.MixMIMTransformer',
            arch=TINY_STAGES,
            img_size=32,
            window_size=[2, 1]), IMAGE),
    'davit':
    Case(dict(DAVIT, out_indices=(1, )), IMAGE),
    'davit-first-stage':
    Case(dict(DAVIT, out_indices=(0, )), IMAGE),
    'xcit':
    Case(
        dict(
            type='mmpretrain.XCiT',
            img_size=32,
            patch_size=16,
            embed_dims=32,
            depth=1,
            cls_attn_layers=1,
            num_heads=2), IMAGE),
    'tinyvit':
    Case(dict(TINYVIT, out_indices=(1, )), IMAGE),
    'tinyvit-featmap':
    Case(dict(TINYVIT, out_indices=(0, ), gap_before_final_norm=False), IMAGE),
    'mvit-image':
    Case(dict(type='mmpretrain.MViT', arch=TINY_MVIT, img_size=32), IMAGE),
    't2t':
    Case(
        dict(
            type='mmpretrain.T2T_ViT',
            img_size=32,
            embed_dims=32,
            num_layers=1,
            layer_cfgs=dict(num_heads=2)), IMAGE),
    'twins-pcpvt':
    Case(
        dict(type='mmpretrain.PCPVT', arch=TINY_TWINS, out_indices=(1, )),
        IMAGE),
    'twins-pcpvt-first-stage':
    Case(
        dict(type='mmpretrain.PCPVT', arch=TINY_TWINS, out_indices=(0, )),
        IMAGE),
    'twins-svt':
    Case(
        dict(
            type='mmpretrain.SVT',
            arch=dict(TINY_TWINS, window_sizes=[2, 2]),
            out_indices=(1, )), IMAGE),
    'tnt':
    Case(
        dict(
            type='mmpretrain.TNT',
            arch=dict(
                embed_dims_outer=32,
                embed_dims_inner=8,
                num_layers=1,
                num_heads_outer=2,
                num_heads_inner=2),
            img_size=32), IMAGE),
    'revvit':
    Case(dict(VIT, type='mmpretrain.RevVisionTransformer'), IMAGE),
    # HiViT's last main block, of width embed_dims; its stem blocks are
    # embed_dims // 4 wide.
    'hivit':
    Case(dict(HIVIT, out_indices=[23]), IMAGE),
    'hivit-no-ape-no-rpe':
    Case(dict(HIVIT, ape=False, rpe=False, out_indices=[-1, 6]), IMAGE),
    # A stem feature before it (refused by hivit_unusable_outputs): the
    # last feature, the one the head reads, is still the main block's.
    'hivit-stem-feature-first':
    Case(
        dict(
            HIVIT,
            arch=dict(embed_dims=32, depths=[1, 1, 1], num_heads=2),
            out_indices=[0]), IMAGE),
    # conv_1x1_exp widens the last layer's output 4 times.
    'mobilevit':
    Case(dict(MOBILEVIT, out_indices=(1, )), IMAGE),
    'mobilevit-first-layer':
    Case(dict(MOBILEVIT, out_indices=(0, )), IMAGE),
}


def _last_tensor(out) -> torch.Tensor:
    """The tensor a head reads: the last one, in the last output."""
    while not isinstance(out, torch.Tensor):
        out = out[-1]
    return out


def _build(cfg: dict):
    """The backbone, built in its toolbox's scope (TimeSformer's layers
    are registered in mmaction2's registry only)."""
    init_default_scope(cfg['type'].split('.')[0])
    return MODELS.build(cfg)


def test_every_declared_host_has_a_case():
    built = {qualname(type(_build(case.cfg))) for case in CASES.values()}
    assert {
        spec.backbone
        for spec in HOSTS if host_spec(spec.backbone).feature_width
    } == built


@pytest.mark.parametrize('name', CASES)
def test_the_declared_width_is_what_the_forward_gives(name):
    cfg, shape = CASES[name]
    torch.manual_seed(0)
    host = _build(cfg)
    host.eval()  # mmpretrain's BaseBackbone.train returns None
    with torch.no_grad():
        out = _last_tensor(host(torch.randn(shape)))
    assert host_feature_width(host) == out.shape[1], out.shape


def test_raw_tokens_have_no_channel_width():
    """``(B, N, C)`` tokens: dim 1 is the token count, not a width."""
    host = _build(dict(CASES['vit-cls'].cfg, out_type='raw'))
    assert host_feature_width(host) is None
    conformer = _build(dict(type='mmpretrain.Conformer', arch='tiny'))
    assert host_feature_width(conformer) is None
