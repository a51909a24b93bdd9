# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A HiViT out index of a main block other than the last, and a plain
HiViT (no wrapper) with an out index it cannot use, are refused before the
work dir.

mmpretrain's HiViT reshapes its tokens into the feature map it returns at
every out index it matches: with ``depths=[1, 1, 10]`` and
``out_indices=[7, 23]`` main block 8 got a ``(B, C, H, W)`` map and
training failed at its first step (``Given normalized_shape=[32], expected
input with shape [*, 32]``), after the work dir was made; a plain HiViT
(a linear probe or full fine-tuning) was not checked at all.
"""
import os.path as osp

import pytest
from config_writers import image_data_cfg
from hivit_configs import adapted_hivit_body, hivit_host, train_hivit
from refusal_lines import refused_line
from repo_paths import CONFIGS, TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.models.backbones.host_outputs import hivit_unusable_outputs

TINY_VIT = osp.join(CONFIGS, 'tiny', 'tiny_vit_image.py')


def _plain(data: str, depths, out_indices) -> str:
    """The tiny image classifier on a plain HiViT (full fine-tuning)."""
    model = dict(
        backbone=dict(_delete_=True, **hivit_host(depths, out_indices)),
        neck=dict(_delete_=True, type='GlobalAveragePooling'),
        head=dict(in_channels=32))
    return image_data_cfg(data) + (f'model = {model!r}\n'
                                   'train_cfg = dict(max_epochs=1)\n')


def test_train_refuses_hivit_main_block_out_index(tmp_path, tiny_image_data):
    config, work_dir, proc = train_hivit(
        tmp_path, TINY_ADAPTFORMER_IMAGE_CONFIG,
        adapted_hivit_body(tiny_image_data, [1, 1, 10], [7, 23]))
    line = refused_line(proc, no_dir=work_dir)
    assert line.startswith(
        f'ConfigError: {config}: '
        'model.backbone.backbone.arch.depths=[1, 1, 10] '
        '/ model.backbone.backbone.out_indices=[7, 23] (HiViT makes it '
        '[7, 9]):'), line
    assert 'index 7 would hand the next main block' in line, line
    assert 'leave out index 7' in line, line
    assert 'depths[-1] >=' not in line, line


def test_train_refuses_plain_hivit_main_block_out_index(
        tmp_path, tiny_image_data):
    config, work_dir, proc = train_hivit(
        tmp_path, TINY_VIT, _plain(tiny_image_data, [1, 1, 10], [7, 23]))
    line = refused_line(proc, no_dir=work_dir)
    assert line.startswith(f'ConfigError: {config}: '
                           'model.backbone.arch.depths=[1, 1, 10] / '
                           'model.backbone.out_indices=[7, 23] (HiViT makes '
                           'it [7, 9]):'), line
    assert 'index 7 would hand the next main block' in line, line


def test_train_refuses_plain_hivit_stem_out_index_named_option(
        tmp_path, tiny_image_data):
    """The stem case on a plain HiViT, the option that set it named."""
    _, work_dir, proc = train_hivit(tmp_path, TINY_VIT,
                                    _plain(tiny_image_data, [1, 1, 10], [23]),
                                    'model.backbone.arch.depths=[1,1,2]')
    line = refused_line(proc, no_dir=work_dir)
    assert line.startswith('ConfigError: --cfg-options '
                           'model.backbone.arch.depths='), line
    assert 'model.backbone.out_indices=[23] (HiViT makes it [1])' in line, \
        line
    assert 'index 1 would return the feature of a stem module' in line, line
    assert 'depths[-1] >= 7' in line, line


@pytest.mark.parametrize('depths,out_indices,refused', [
    ([1, 1, 10], [7, 23], True),
    ([1, 1, 10], [0, 23], True),
    ([1, 1, 10], [6, 8, 23], True),
    ([1, 1, 10], [9, 23], False),
    ([1, 1, 10], [10, 23], False),
    ([1, 1, 10], [-3, 23], False),
    ([1, 1, 10], [23], False),
])
def test_hivit_unusable_outputs_main_blocks(depths, out_indices, refused):
    """Exactly the out indices that HiViT matches before its last main
    block (index ``depths[-1] - 1``) are refused; one it never matches
    (negative, or past both loops) is not."""
    from mmpretrain.models.backbones.hivit import HiViT
    host = HiViT(
        arch=dict(embed_dims=32, depths=depths, num_heads=2),
        img_size=32,
        out_indices=list(out_indices))
    message = hivit_unusable_outputs(host, 'model.backbone')
    assert (message is not None) == refused, message


def test_main_block_refusals_match_the_forward():
    """Each refused main-block index breaks the forward; each one let
    through returns one feature of width embed_dims."""
    import torch
    from mmpretrain.models.backbones.hivit import HiViT
    for index in range(11):
        host = HiViT(
            arch=dict(embed_dims=32, depths=[1, 1, 10], num_heads=2),
            img_size=32,
            out_indices=[index, 23])
        refused = hivit_unusable_outputs(host, 'model.backbone') is not None
        try:
            outs = host(torch.zeros(1, 3, 32, 32))
        except RuntimeError:
            assert refused, index
            continue
        assert not refused, index
        assert [out.shape[1] for out in outs] == [32], index


@pytest.mark.parametrize('out_indices,refused', [([23], False),
                                                 ([7, 23], True)])
def test_plain_hivit_checked_before_the_runner(out_indices, refused):
    """The plain HiViT of a full fine-tuning config is built and checked
    by the model check the tools run (a valid one passes: guard)."""
    from mmengine.config import Config

    from mmadaptformer.models.backbones.config_check import check_model_config
    from mmadaptformer.utils.config_error import ConfigError
    cfg = Config.fromfile(TINY_VIT)
    cfg.model.backbone = hivit_host([1, 1, 10], out_indices)
    cfg.model.neck = dict(type='GlobalAveragePooling')
    cfg.model.head.in_channels = 32
    if not refused:
        check_model_config(cfg, 'c.py', pretrained=False)
        return
    with pytest.raises(ConfigError, match=r'^c\.py: model\.backbone\.arch'):
        check_model_config(cfg, 'c.py', pretrained=False)
