# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Configs that inherit mmaction2's and mmpretrain's recipes with a typed
``collate_fn`` (``_scope_`` added by MMEngine) load their batches through
the real Runner and the recipes' own collate functions."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import FlexibleRunner, Runner

from mmadaptformer.utils.dataloader_compat import resolve_scoped_collate

MVIT = ('mmaction::recognition/mvit/'
        'mvit-small-p244_32xb16-16x4x1-200e_kinetics400-rgb.py')
MIXMIM = 'mmpretrain::mixmim/benchmarks/mixmim-base_8xb128-coslr-100e_in1k.py'


def _config(tmp_path, base, body):
    path = tmp_path / 'cfg.py'
    path.write_text(f'_base_ = [{base!r}]\n{body}')
    return Config.fromfile(str(path))


def _mvit_loader(tmp_path, data):
    body = f'''
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(
        ann_file={data['train']!r},
        data_prefix=dict(video={data['videos']!r}),
        pipeline=[
            dict(type='DecordInit'),
            dict(type='SampleFrames', clip_len=4, frame_interval=1,
                 num_clips=1),
            dict(type='DecordDecode'),
            dict(type='Resize', scale=(32, 32), keep_ratio=False),
            dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackActionInputs')]))
'''
    cfg = _config(tmp_path, MVIT, body)
    assert cfg.train_dataloader.collate_fn == dict(
        type='repeat_pseudo_collate', _scope_='mmaction')
    return cfg.train_dataloader


@pytest.mark.parametrize('runner', [Runner, FlexibleRunner])
def test_mmaction_mvit_recipe_batches_with_its_repeat_collate(
        tmp_path, tiny_video_data, runner):
    loader_cfg = _mvit_loader(tmp_path, tiny_video_data)
    with DefaultScope.overwrite_default_scope('mmaction'):
        # MMEngine 0.10.7 alone: '_scope_' reaches the function.
        raw = runner.build_dataloader.__wrapped__(loader_cfg)
        with pytest.raises(TypeError, match="keyword argument '_scope_'"):
            next(iter(raw))
        batch = next(iter(runner.build_dataloader(loader_cfg)))
    # RepeatAugDataset gives each sample twice (num_repeats=2), and
    # mmaction2's repeat_pseudo_collate flattens them into one batch.
    assert len(batch['inputs']) == 4
    assert batch['inputs'][0].shape == (1, 3, 4, 32, 32)
    # The config itself is not changed.
    assert loader_cfg.collate_fn._scope_ == 'mmaction'


def test_mmpretrain_recipe_batches_with_default_collate(
        tmp_path, tiny_image_data):
    body = f'''
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(
        _delete_=True, type='CustomDataset', data_root={tiny_image_data!r},
        data_prefix='val',
        pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
'''
    cfg = _config(tmp_path, MIXMIM, body)
    assert cfg.val_dataloader.collate_fn._scope_ == 'mmpretrain'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        batch = next(iter(Runner.build_dataloader(cfg.val_dataloader)))
    # default_collate stacks the images (pseudo_collate would keep a list).
    assert isinstance(batch['inputs'], torch.Tensor)
    assert batch['inputs'].shape == (2, 3, 32, 32)


def test_an_unknown_scoped_collate_is_named():
    loader = dict(collate_fn=dict(type='no_such_collate', _scope_='mmaction'))
    with pytest.raises(
            KeyError,
            match="'no_such_collate' \\(scope "
            "'mmaction'\\) is not a function registered"):
        resolve_scoped_collate(loader)
    # Unscoped configs and built dataloaders pass through untouched.
    plain = dict(collate_fn=dict(type='pseudo_collate'))
    assert resolve_scoped_collate(plain) is plain
    built = torch.utils.data.DataLoader([1])
    assert resolve_scoped_collate(built) is built
