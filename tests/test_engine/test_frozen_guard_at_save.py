# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdapterHook's frozen-weights guard against hooks that run after it.

AdapterHook (priority VERY_HIGH) checks the frozen tensors first among the
``after_train_epoch`` hooks, so a NORMAL or LOW hook (a buffer sync, an EMA,
user code) that changed one in the last epoch went unnoticed, and
CheckpointHook (VERY_LOW) then saved it, stamped with the fingerprints of
the frozen weights at the start of training. The guard now also runs before
every save (before anything is written) and after training.
"""
import os

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, pretrained_cfg,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner

from mmadaptformer.models import FROZEN_HOST_KEY
from mmadaptformer.utils import safe_torch_load
from mmadaptformer.utils.fingerprint import tensor_fingerprint

CHANGED = r'backbone\.blocks\.1\.attn\.proj\.weight'


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('pretrained') / 'stock.pth')
    return dict(path=path, state=save_stock_video_checkpoint(path, seed=0))


def _change_frozen_weight(runner):
    with torch.no_grad():
        runner.model.backbone.backbone.blocks[1].attn.proj.weight[0, 0] += 1


@HOOKS.register_module(force=True)
class _LastEpochFrozenChangeHookJ(Hook):
    """Changes a frozen weight at the end of the last epoch, as a NORMAL
    hook that runs after AdapterHook's check and before CheckpointHook."""

    priority = 'NORMAL'

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == runner.max_epochs:
            _change_frozen_weight(runner)


@HOOKS.register_module(force=True)
class _IterFrozenChangeHookJ(Hook):
    """Changes a frozen weight after iteration ``at`` (1-based)."""

    priority = 'LOW'

    def __init__(self, at=3):
        self.at = at

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            _change_frozen_weight(runner)


def _train(tmp_path, data, pretrained, body, **overrides):
    cfg_path = write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(data) + pretrained_cfg(pretrained['path']) + body)
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.randomness = dict(seed=0)
    cfg.merge_from_dict(overrides)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def _hooks(adapter_only, extra):
    return ('custom_hooks = [dict(type="AdapterHook", '
            'extra_trainable=[r"^backbone\\.fc_norm\\."], '
            f'adapter_only_checkpoint={adapter_only}), {extra}]\n')


def _saved(tmp_path):
    work = tmp_path / 'work'
    return sorted(
        f for f in os.listdir(work)
        if f.endswith('.pth') or f == 'last_checkpoint')


@pytest.mark.parametrize('adapter_only', [True, False])
def test_change_in_last_epoch_stops_before_the_save(tmp_path, tiny_video_data,
                                                    pretrained, adapter_only,
                                                    clean_loggers):
    """A NORMAL hook changes a frozen weight at the end of the only epoch:
    the run stops naming epoch 1 and the tensor, and no checkpoint (full or
    adapter-only) nor last_checkpoint is written. (The old hook let the run
    end and saved epoch_1.pth.)"""
    with pytest.raises(
            RuntimeError,
            match=rf'1 frozen tensors changed during epoch 1.*{CHANGED}'):
        _train(
            tmp_path,
            tiny_video_data,
            pretrained,
            _hooks(adapter_only, 'dict(type="_LastEpochFrozenChangeHookJ")'),
            train_cfg=dict(max_epochs=1))
    assert _saved(tmp_path) == []


def test_change_in_last_epoch_without_a_save_stops_after_training(
        tmp_path, tiny_video_data, pretrained, clean_loggers):
    """The last epoch saves nothing (interval 5, no save_last, no best
    checkpoint): the run
    still fails at its end, naming epoch 2 (the old hook ended with exit 0
    and a changed frozen backbone)."""
    with pytest.raises(
            RuntimeError,
            match=rf'1 frozen tensors changed during epoch 2.*{CHANGED}'):
        _train(
            tmp_path,
            tiny_video_data,
            pretrained,
            _hooks(True, 'dict(type="_LastEpochFrozenChangeHookJ")'),
            train_cfg=dict(max_epochs=2),
            default_hooks=dict(
                checkpoint=dict(interval=5, save_last=False, save_best=None)))
    assert _saved(tmp_path) == []


ITER_BODY = ('train_cfg = dict(_delete_=True, type="IterBasedTrainLoop", '
             'max_iters=4, val_interval=100)\n'
             'default_hooks = dict(checkpoint=dict(by_epoch=False, '
             'interval=2, save_last=True, save_best=None))\n'
             'param_scheduler = []\n')


def test_iteration_based_saves_stop_at_the_first_save_after_a_change(
        tmp_path, tiny_video_data, pretrained, clean_loggers):
    """Iteration-based training (by_epoch=False saves every 2 iterations): a
    frozen weight changed after iteration 3 stops the run at the save of
    iteration 4, naming it; the save of iteration 2 stays. (The old hook
    never checks iteration-based runs and saved iter_4.pth.)"""
    with pytest.raises(
            RuntimeError,
            match=rf'1 frozen tensors changed by iteration 4.*{CHANGED}'):
        _train(
            tmp_path, tiny_video_data, pretrained,
            _hooks(True, 'dict(type="_IterFrozenChangeHookJ", at=3)') +
            ITER_BODY)
    assert _saved(tmp_path) == ['iter_2.pth', 'last_checkpoint']


def test_iteration_based_adapter_only_saves_kept(tmp_path, tiny_video_data,
                                                 pretrained, clean_loggers):
    """Guard of kept behaviour: iteration-based training with by_epoch=False
    saves writes adapter-only checkpoints, stamped with the frozen
    backbone's fingerprints, which equal the pretrained ones."""
    runner = _train(tmp_path, tiny_video_data, pretrained,
                    _hooks(True, '') + ITER_BODY)
    assert _saved(tmp_path) == ['iter_2.pth', 'iter_4.pth', 'last_checkpoint']
    state = safe_torch_load(str(tmp_path / 'work' /
                                'iter_4.pth'))['state_dict']
    assert 'backbone.blocks.1.attn.proj.weight' not in state
    entry = state['backbone.' + FROZEN_HOST_KEY]
    assert len(entry['fingerprints']) > 10
    assert runner.iter == 4


def test_unchecked_run_stamps_the_frozen_weights_it_saves(
        tmp_path, tiny_video_data, pretrained, clean_loggers):
    """With check_frozen=False the run saves, but the adapter-only
    checkpoint records the fingerprints of the frozen weights it holds now,
    not those of the pretrained ones (the old hook stamped the latter, so
    the checkpoint claimed a frozen backbone it no longer had)."""
    runner = _train(
        tmp_path,
        tiny_video_data,
        pretrained,
        'custom_hooks = [dict(type="AdapterHook", check_frozen=False, '
        'extra_trainable=[r"^backbone\\.fc_norm\\."], '
        'adapter_only_checkpoint=True), '
        'dict(type="_LastEpochFrozenChangeHookJ")]\n',
        train_cfg=dict(max_epochs=1))
    state = safe_torch_load(str(tmp_path / 'work' /
                                'epoch_1.pth'))['state_dict']
    stamped = state['backbone.' + FROZEN_HOST_KEY]['fingerprints']
    key = 'blocks.1.attn.proj.weight'
    now = runner.model.state_dict()['backbone.' + key]
    assert not torch.equal(now, pretrained['state']['backbone.' + key])
    assert stamped[key] == tensor_fingerprint(now)
    assert stamped[key] != tensor_fingerprint(
        pretrained['state']['backbone.' + key])
    # Every other frozen tensor is stamped as pretrained.
    assert stamped['blocks.0.attn.proj.weight'] == tensor_fingerprint(
        pretrained['state']['backbone.blocks.0.attn.proj.weight'])
