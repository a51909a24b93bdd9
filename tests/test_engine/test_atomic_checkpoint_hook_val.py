# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``Runner.val()`` alone on a config whose checkpoint hook keeps the best
epoch (``save_best='auto'``, mmaction2's default runtime and so the video
recipes and tiny configs): a trained checkpoint validated from Python, as
MMEngine documents ``Runner.from_cfg(cfg).val()``."""
import os

import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     pretrained_cfg, save_as_built_checkpoint, video_data_cfg,
                     write_config)


def _runner(config, ckpt, work_dir):
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(config)
    cfg.load_from = ckpt
    cfg.work_dir = str(work_dir)
    return Runner.from_cfg(cfg)


@pytest.mark.parametrize('adaptformer', [False, True])
def test_runner_val_alone_returns_metrics_and_saves_nothing(
        adaptformer, tmp_path, tiny_video_data, stock_video_backbone,
        clean_loggers):
    data = video_data_cfg(tiny_video_data)
    stock = write_config(tmp_path / 'stock.py', TINY_VIDEO_CONFIG, data)
    if adaptformer:
        config = write_config(tmp_path / 'adaptformer.py',
                              TINY_ADAPTFORMER_VIDEO_CONFIG,
                              data + pretrained_cfg(stock_video_backbone))
    else:
        config = stock
    ckpt = save_as_built_checkpoint(config, tmp_path / 'trained.pth')
    runner = _runner(config, ckpt, tmp_path / 'work')
    assert runner.cfg.default_hooks.checkpoint.save_best == 'auto'
    # Before: AttributeError: 'AtomicCheckpointHook' object has no
    # attribute 'file_backend', after the whole validation.
    metrics = runner.val()
    assert set(metrics) >= {'acc/top1', 'acc/top5'}, metrics
    assert runner.test() == metrics
    # No training, no best epoch: nothing written beside the logs.
    saved = [
        name for _, _, names in os.walk(tmp_path / 'work') for name in names
        if name.endswith('.pth') or name == 'last_checkpoint'
    ]
    assert saved == []
