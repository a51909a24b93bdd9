# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which heads :func:`~mmadaptformer.models.backbones.head_width.
check_head_width` refuses, which it leaves, and that every shipped config
and the stock configs of the declared hosts pass it."""
import glob
import os.path as osp

import pytest
import torch
from helpers import (CONFIGS, TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     VIDEO_HOST)
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.models.backbones.config_check import check_wrapper_config
from mmadaptformer.models.backbones.head_width import check_head_width
from mmadaptformer.utils import ConfigError

#: mmpretrain's Swin on 32x32 images: 16-wide first stage, 32-wide second.
TINY_SWIN = dict(
    type='SwinTransformer',
    arch=dict(embed_dims=16, depths=[1, 1], num_heads=[1, 2]),
    img_size=32,
    window_size=2,
    out_indices=(1, ))


def _tiny_swin_cfg(in_channels: int, neck=dict(type='GlobalAveragePooling')):
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.backbone = TINY_SWIN
    cfg.model.neck = neck
    cfg.model.head.in_channels = in_channels
    return cfg


def _refused(cfg, message):
    with pytest.raises(ConfigError, match=message):
        check_head_width(cfg, 'c.py')


def test_a_wrong_swin_head_behind_global_average_pooling_is_refused():
    """Every mmpretrain Swin config pools in a neck: the check runs there."""
    _refused(
        _tiny_swin_cfg(16),
        r'^c.py: model.head.in_channels: the head takes in_channels=16, '
        r'but the backbone \(model.backbone, SwinTransformer\) gives it '
        r'32-wide features; set model.head.in_channels=32, or change the '
        r'backbone.$')
    check_head_width(_tiny_swin_cfg(32), 'c.py')


def test_the_wrong_in_channels_fails_upstream_at_the_first_loss():
    """The premise: the model builds, and its first loss stops."""
    from mmpretrain.structures import DataSample
    cfg = _tiny_swin_cfg(16)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    samples = [DataSample().set_gt_label(0)]
    with pytest.raises(
            RuntimeError,
            match='mat1 and mat2 shapes cannot be '
            r'multiplied \(1x32 and 16x2\)'):
        model.loss(torch.randn(1, 3, 32, 32), samples)


def test_a_neck_that_changes_the_width_stops_the_check():
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.head.in_channels = 768
    _refused(cfg, 'gives it 64-wide features')
    cfg.model.neck = dict(type='LinearNeck', in_channels=64, out_channels=768)
    check_head_width(cfg, 'c.py')
    # GlobalAveragePooling keeps it (on a feature map, which it pools).
    cfg.model.backbone.out_type = 'featmap'
    cfg.model.neck = dict(type='GlobalAveragePooling')
    _refused(cfg, 'gives it 64-wide features')


def test_a_head_whose_in_channels_is_no_width_is_not_compared():
    """mmpretrain's ConformerHead takes the widths of two branches."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.head = dict(
        type='ConformerHead', num_classes=2, in_channels=[8, 768])
    check_head_width(cfg, 'c.py')


def test_a_host_that_declares_no_width_is_not_compared():
    """Conformer's features are a CNN and a transformer one, of two
    widths: neither is compared with a single ``in_channels``."""
    cfg = _tiny_swin_cfg(16)
    cfg.model.backbone = dict(type='Conformer', arch='tiny')
    check_head_width(cfg, 'c.py')


def test_swin3d_and_i3d_head():
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.model.backbone = dict(
        type='SwinTransformer3D',
        arch=dict(embed_dims=16, depths=[1, 1], num_heads=[1, 2]),
        out_indices=(1, ),
        window_size=(2, 2, 2))
    cfg.model.cls_head = dict(type='I3DHead', num_classes=2, in_channels=16)
    _refused(
        cfg, r'^c.py: model.cls_head.in_channels: the head takes '
        r'in_channels=16, but the backbone \(model.backbone, '
        r'SwinTransformer3D\) gives it 32-wide features; set '
        r'model.cls_head.in_channels=32,')
    cfg.model.cls_head.in_channels = 32
    check_head_width(cfg, 'c.py')


def test_the_host_inside_a_wrapper_is_read_from_the_built_wrapper():
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    assert cfg.model.backbone.backbone.embed_dims == VIDEO_HOST['embed_dims']
    cfg.model.cls_head.in_channels = 768
    wrapper = check_wrapper_config(cfg, 'c.py')
    with pytest.raises(
            ConfigError,
            match=r'\(model.backbone.backbone, VisionTransformer\) gives it '
            '64-wide'):
        check_head_width(cfg, 'c.py', host=wrapper.backbone)
    # The built wrapper's host is what is read, not the config's.
    wrapper.backbone.embed_dims = 768
    check_head_width(cfg, 'c.py', host=wrapper.backbone)


def _compared(cfg, source):
    """Whether ``cfg`` passes, and a wrong ``in_channels`` is refused."""
    check_head_width(cfg, source)
    key = 'head' if 'head' in cfg.model else 'cls_head'
    cfg.model[key].in_channels = 7
    with pytest.raises(ConfigError, match='the head takes in_channels=7'):
        check_head_width(cfg, source)


SHIPPED = sorted(
    path
    for path in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    if '_base_' not in path)


@pytest.mark.parametrize(
    'path', SHIPPED, ids=lambda path: osp.relpath(path, CONFIGS))
def test_every_shipped_config_passes_and_is_compared(path):
    _compared(Config.fromfile(path), path)


# One stock config of each kind of reader; RevViT's features join its two
# streams (1536 for the base arch, which its config rightly says).
STOCK = [
    'mmaction::recognition/swin/swin-tiny-p244-w877_in1k-pre_8xb8-amp-'
    '32x2x1-30e_kinetics400-rgb.py',
    'mmaction::recognition/mvit/mvit-small-p244_32xb16-16x4x1-200e_'
    'kinetics400-rgb.py',
    'mmaction::recognition/uniformer/uniformer-small_imagenet1k-pre_16x4x1_'
    'kinetics400-rgb.py',
    'mmpretrain::swin_transformer/swin-tiny_16xb64_in1k.py',
    'mmpretrain::swin_transformer_v2/swinv2-tiny-w8_16xb64_in1k-256px.py',
    'mmpretrain::revvit/revvit-small_8xb256_in1k.py',
    'mmpretrain::t2t_vit/t2t-vit-t-14_8xb64_in1k.py',
    'mmpretrain::hivit/hivit-tiny-p16_16xb64_in1k.py',
    'mmpretrain::mae/benchmarks/vit-base-p16_8xb2048-linear-coslr-90e_'
    'in1k.py',
]


@pytest.mark.parametrize('name', STOCK)
def test_stock_configs_pass_and_are_compared(name):
    cfg = get_config(name)
    cfg.setdefault('default_scope', name.split('::')[0])
    _compared(cfg, name)
