# Copyright (c) mmadaptformer contributors. All rights reserved.
"""build_runner / ConfigCopyRunner: every run's config goes next to its
log; the work dir's copy is written by a training run once it started, so
a run refused before its first iteration leaves it as it was. A config's
own ``runner_type`` is kept. tests/test_tools/test_config_copy.py runs the
tools."""
import os.path as osp

import pytest
from helpers import TINY_VIDEO_CONFIG, video_data_cfg, write_config
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmadaptformer.engine import (ConfigCopyMixin, ConfigCopyRunner,
                                  build_runner)


@RUNNERS.register_module(force=True)
class ConfigCopyTestRunner(Runner):
    """A user's runner, named by ``runner_type``."""


class _IterCounter(Hook):

    def __init__(self):
        self.iters = 0

    def after_train_iter(self, runner, *args, **kwargs):
        self.iters += 1


def _cfg(tmp_path, data, name, **options):
    cfg = Config.fromfile(
        write_config(
            tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
            video_data_cfg(data) + 'default_hooks = dict(config_check=dict('
            "type='ConfigCheckHook'))\n"))
    cfg.merge_from_dict(options)
    cfg.work_dir = str(tmp_path / 'work')
    # Two runners built in one second get apart loggers and message hubs.
    cfg.experiment_name = name
    return cfg


def test_training_writes_the_work_dir_copy_once_started(
        tmp_path, tiny_video_data, clean_loggers):
    copy = tmp_path / 'work' / 'cfg.py'
    copy.parent.mkdir()
    copy.write_text("# the earlier training run's\n")

    # The config's own runner_type, with the mixin in front.
    cfg = _cfg(
        tmp_path,
        tiny_video_data,
        'refused',
        runner_type='ConfigCopyTestRunner',
        **{'train_dataloader.dataset.num_classes': 51})
    runner = build_runner(cfg)
    assert isinstance(runner, ConfigCopyTestRunner)
    assert isinstance(runner, ConfigCopyMixin)
    logged = Config.fromfile(osp.join(runner.log_dir, 'cfg.py'))
    assert logged.train_dataloader.dataset.num_classes == 51
    # ConfigCheckHook refuses it in before_train, before any step.
    counter = _IterCounter()
    runner.register_hook(counter)
    with pytest.raises(ValueError, match='num_classes=51'):
        runner.train()
    assert counter.iters == 0
    assert copy.read_text() == "# the earlier training run's\n"

    cfg = _cfg(
        tmp_path, tiny_video_data, 'trained', **{
            'train_cfg.max_epochs': 1,
            'val_cfg': None,
            'val_dataloader': None,
            'val_evaluator': None
        })
    runner = build_runner(cfg)
    assert type(runner) is ConfigCopyRunner
    assert copy.read_text() == "# the earlier training run's\n"
    counter = _IterCounter()
    runner.register_hook(counter)
    runner.train()
    assert counter.iters > 0
    assert copy.read_text() == cfg.dump()
    assert Config.fromfile(copy).experiment_name == 'trained'
