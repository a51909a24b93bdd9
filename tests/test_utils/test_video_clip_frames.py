# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A frame sampler whose clips mmaction2's VideoMAE ViT cannot take (its
``clip_len`` is not the backbone's ``num_frames``) is named before anything
runs; before, the first forward failed inside the backbone with ``The size
of tensor a (16) must match the size of tensor b (8)``."""
import glob
import os.path as osp

import pytest
import torch
from helpers import (CONFIGS, TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     run_tool)
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from refusal_lines import refused_line

from mmadaptformer.apis import ModelInferencer, build_test_pipeline
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.dataloader_check import check_dataloaders
from mmadaptformer.utils.video_clip_frames import check_clip_frames

LOADERS = ['train_dataloader', 'val_dataloader', 'test_dataloader']


def _cfg(config, options):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    return cfg


def test_the_mismatch_it_refuses_is_the_one_the_backbone_fails_on():
    """The tiny ViT built for 4 frames fails on 8-frame clips and takes
    5-frame ones (the tubelet convolution drops the incomplete last
    tubelet); the check refuses the first and passes the second."""
    init_default_scope('mmaction')
    torch.manual_seed(0)
    backbone = MODELS.build(Config.fromfile(TINY_VIDEO_CONFIG).model.backbone)
    backbone.eval()
    with pytest.raises(RuntimeError, match='must match the size'):
        backbone(torch.rand(1, 3, 8, 32, 32))
    assert backbone(torch.rand(1, 3, 5, 32, 32)).shape == (1, 64)
    options = {'test_dataloader.dataset.pipeline.1.clip_len': 8}
    with pytest.raises(ConfigError) as error:
        check_dataloaders(
            _cfg(TINY_VIDEO_CONFIG, options), 'tiny.py', LOADERS, options)
    assert str(error.value).startswith(
        '--cfg-options test_dataloader.dataset.pipeline.1.clip_len=8: '
        'test_dataloader.dataset.pipeline[1] (SampleFrames) samples clips '
        'of 8 frames, but the backbone model.backbone (mmaction2\'s VideoMAE '
        'VisionTransformer) was built for num_frames=4 (tubelet_size=2; '
        'tiny.py: model.backbone.num_frames)')
    assert 'Set clip_len=4, or num_frames=8 in model.backbone' in str(
        error.value)
    options = {'test_dataloader.dataset.pipeline.1.clip_len': 5}
    check_clip_frames(
        _cfg(TINY_VIDEO_CONFIG, options), 'tiny.py', LOADERS, options)


def test_the_host_inside_the_wrapper_is_read():
    """With AdaptFormer the host is ``model.backbone.backbone``; an option
    that changed its num_frames is the one named."""
    options = {'model.backbone.backbone.num_frames': 8}
    with pytest.raises(ConfigError) as error:
        check_clip_frames(
            _cfg(TINY_ADAPTFORMER_VIDEO_CONFIG, options), 'af.py',
            ['train_dataloader'], options)
    message = str(error.value)
    assert message.startswith('af.py: train_dataloader.dataset.pipeline[1]'
                              '.clip_len: ')
    assert ('built for num_frames=8 (tubelet_size=2; --cfg-options '
            'model.backbone.backbone.num_frames=8)') in message


def test_only_the_loaders_a_tool_uses_are_read():
    """A test pipeline a training run does not use is not refused."""
    options = {'test_dataloader.dataset.pipeline.1.clip_len': 8}
    check_clip_frames(
        _cfg(TINY_VIDEO_CONFIG, options), 'tiny.py',
        ['train_dataloader', 'val_dataloader'], options)


def test_the_repositorys_video_configs_pass():
    """Every config of ours that builds a VideoMAE ViT samples clips it
    takes (the check reads at least the recipes and the tiny configs)."""
    read = 0
    for path in sorted(
            glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)):
        if '_base_' in path:
            continue
        cfg = Config.fromfile(path)
        if cfg.get('default_scope') != 'mmaction':
            continue
        check_clip_frames(cfg, path, LOADERS)
        read += 1
    assert read >= 10


def test_inference_names_it_before_reading_the_checkpoint(tmp_path):
    """``build_test_pipeline`` (and so ``tools/infer.py``,
    ``ModelInferencer`` and ``add_task``) refuses it before the checkpoint
    is read: the checkpoint here is no checkpoint at all. (That it is
    there is checked first, as the tools check their files first.)"""
    options = {'test_dataloader.dataset.pipeline.1.clip_len': 8}
    cfg = _cfg(TINY_ADAPTFORMER_VIDEO_CONFIG, options)
    with pytest.raises(ConfigError, match=r'samples clips of 8 frames'):
        build_test_pipeline(cfg, 'mmaction', 'af.py', options)
    unread = tmp_path / 'unread.pth'
    unread.write_bytes(bytes(64))
    with pytest.raises(ConfigError, match=r'num_frames=4 \(tubelet_size=2'):
        ModelInferencer(cfg, str(unread))


def test_train_py_ends_with_one_line_before_the_work_dir(tmp_path):
    work_dir = tmp_path / 'work'
    proc = run_tool([
        'train.py', TINY_VIDEO_CONFIG, '--work-dir', work_dir, '--cfg-options',
        'model.backbone.num_frames=8'
    ],
                    cwd=tmp_path,
                    check=False)
    last = refused_line(proc)
    assert last.startswith(
        'ConfigError: ' + TINY_VIDEO_CONFIG +
        ': train_dataloader.dataset.pipeline[1].clip_len: '
        'train_dataloader.dataset.pipeline[1] (SampleFrames) samples clips '
        'of 4 frames, but the backbone model.backbone'), last
    assert not work_dir.exists()
