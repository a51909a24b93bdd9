# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdapterHook's frozen-weights guard covers the frozen backbone's buffers
(BatchNorm running statistics), not only its parameters: a real UniFormer
AdaptFormer run whose frozen batch norms some later hook puts back in
train mode stops after the epoch, naming their statistics."""
import pytest
import torch
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, video_data_cfg, write_config
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner
from tiny_uniformer import uniformer_model_cfg

from mmadaptformer.engine.hooks.frozen_tensors_check import \
    FrozenTensorsChangedError


@HOOKS.register_module(force=True)
class _FrozenNormsToTrainModeHook(Hook):
    """User code that calls ``train()`` on the backbone's batch norms after
    AdapterHook put the frozen ones in eval mode."""

    priority = 'LOW'

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        for module in runner.model.backbone.modules():
            if isinstance(module, torch.nn.BatchNorm3d):
                module.train()


def test_frozen_batch_norm_statistics_changed_in_training_are_refused(
        tmp_path, tiny_video_data, clean_loggers):
    """Guards a guard that leaves out buffers or running statistics (as
    "expected to move"): the frozen statistics changed, and only the
    guard can stop the run before they are saved."""
    cfg_path = write_config(
        tmp_path / 'uniformer.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + uniformer_model_cfg() + """
custom_hooks = [dict(type='AdapterHook', allow_random_backbone=True),
                dict(type='_FrozenNormsToTrainModeHook')]
train_cfg = dict(max_epochs=1, val_begin=2)
""")
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(
            FrozenTensorsChangedError,
            match=r'frozen tensors changed during epoch 1.*'
            r"'backbone\.blocks1\.0\.norm1\.running_mean'"):
        runner.train()
    assert not list((tmp_path / 'work').glob('*.pth'))
