# Copyright (c) mmadaptformer contributors. All rights reserved.
"""NonFiniteLossHook on real tiny image runs: an infinite (not NaN) loss,
and the count of skipped steps across ``resume``."""
import pytest
from helpers import TINY_IMAGE_CONFIG, image_data_cfg, write_config
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.models import LinearClsHead
from mmpretrain.registry import MODELS

from mmadaptformer.engine import NonFiniteLossError


@MODELS.register_module(force=True)
class _BadLossAtHeadM(LinearClsHead):
    """LinearClsHead whose loss is multiplied by ``factor`` (inf, nan) at the
    1-based calls in ``bad_at``."""

    def __init__(self, bad_at=(), factor=float('inf'), **kwargs):
        super().__init__(**kwargs)
        self.bad_at, self.factor, self.calls = set(bad_at), factor, 0

    def loss(self, feats, data_samples, **kwargs):
        self.calls += 1
        loss = super().loss(feats, data_samples, **kwargs)['loss']
        if self.calls in self.bad_at:
            loss = loss * self.factor
        return dict(loss_cls=loss)


def _runner(tmp_path,
            data_root,
            max_epochs,
            bad_at,
            factor,
            resume_from=None,
            **hook_kwargs):
    """A tiny image run (8 images, batch 4: 2 iterations per epoch) that
    saves every epoch, resumed from ``resume_from`` if given."""
    cfg = Config.fromfile(
        write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                     image_data_cfg(data_root)))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.head.type = '_BadLossAtHeadM'
    cfg.model.head.bad_at, cfg.model.head.factor = list(bad_at), factor
    cfg.default_hooks.non_finite_loss = dict(
        type='NonFiniteLossHook', **hook_kwargs)
    cfg.train_cfg.max_epochs = max_epochs
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_cfg.val_interval = 100
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    if resume_from is not None:
        cfg.resume, cfg.load_from = True, str(resume_from)
    return Runner.from_cfg(cfg)


def test_an_infinite_loss_stops_training_at_its_iteration(
        tmp_path, tiny_image_data, clean_loggers):
    """Guards a check for NaN alone (``torch.isnan``): an infinite loss is
    non-finite too, and reaches the optimizer otherwise."""
    runner = _runner(tmp_path, tiny_image_data, 1, [2], float('inf'))
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    message = str(info.value)
    assert message.startswith('Non-finite loss at iteration 2 (epoch 1, '
                              'batch 2 of the epoch): '), message
    assert 'loss=inf' in message and 'loss_cls=inf' in message, message


def test_skipped_steps_count_towards_max_skips_after_resume(
        tmp_path, tiny_image_data, clean_loggers):
    """Guards a hook that restarts its total at 0 on resume (not reading
    the message hub's runtime info): a step skipped before the resume
    counts towards ``max_skips``, as the docstring promises."""
    first = _runner(tmp_path, tiny_image_data, 1, [2], float('nan'), skip=True)
    first.train()
    assert first.message_hub.get_info('non_finite_loss_skipped_total') == 1
    checkpoint = tmp_path / 'work' / 'epoch_1.pth'
    assert checkpoint.is_file()

    # The resumed run's first step (iteration 3) is non-finite.
    resumed = _runner(
        tmp_path,
        tiny_image_data,
        2, [1],
        float('nan'),
        resume_from=checkpoint,
        skip=True,
        max_skips=1)
    with pytest.raises(NonFiniteLossError) as info:
        resumed.train()
    message = str(info.value)
    assert message.startswith('Non-finite loss at iteration 3 (epoch 2, '
                              'batch 1 of the epoch)'), message
    assert ('1 steps were skipped already, the most NonFiniteLossHook.'
            'max_skips=1 allows') in message, message
    assert resumed.message_hub.get_info('non_finite_loss_skipped_total') == 1
