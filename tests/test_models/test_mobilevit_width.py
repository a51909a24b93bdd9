# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MobileViT declares the width of its features, so a head that takes
another width is refused before training (it stopped at the first loss,
``running_mean should contain 128 elements not 64``), wrapped or not."""

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.models.backbones.head_width import (check_head_width,
                                                       host_feature_width)
from mmadaptformer.utils import ConfigError

#: Two MobileViT layers after a MobileNetV2 one: 16, 24 and 32 wide, the
#: last widened 4 times by ``conv_1x1_exp``.
ARCH = [['mobilenetv2', 16, 1, 1, 2], ['mobilevit', 24, 2, 32, 64, 2, 2],
        ['mobilevit', 32, 2, 32, 64, 1, 2]]


@pytest.mark.parametrize('out_indices,width', [((0, ), 16), ((1, ), 24),
                                               ((2, ), 128), ((0, 2), 128)])
def test_the_width_is_what_the_forward_gives(out_indices, width):
    init_default_scope('mmpretrain')
    host = MODELS.build(
        dict(type='MobileViT', arch=ARCH, out_indices=out_indices))
    host.eval()
    with torch.no_grad():
        out = host(torch.randn(1, 3, 32, 32))[-1]
    assert out.shape[1] == width
    assert host_feature_width(host) == width


def _config(in_channels: int) -> Config:
    cfg = Config.fromfile(TINY_ADAPTFORMER_IMAGE_CONFIG)
    cfg.model.backbone.backbone = dict(
        type='MobileViT', arch=ARCH, out_indices=(2, ))
    cfg.model.neck = dict(type='GlobalAveragePooling')
    cfg.model.head.in_channels = in_channels
    return cfg


def test_a_head_of_another_width_is_refused():
    with pytest.raises(
            ConfigError,
            match=r'^c.py: model.head.in_channels: the head takes '
            r'in_channels=64, but the backbone \(model.backbone.backbone, '
            r'MobileViT\) gives it 128-wide features; set '
            r'model.head.in_channels=128, or change the backbone.$'):
        check_head_width(_config(64), 'c.py')
    check_head_width(_config(128), 'c.py')
