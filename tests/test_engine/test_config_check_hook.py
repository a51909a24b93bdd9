# Copyright (c) mmadaptformer contributors. All rights reserved.
"""ConfigCheckHook: a head whose num_classes differs from the dataset's
stops the run before its first step, naming both config keys."""
import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     image_data_cfg, video_data_cfg, write_config)
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner


class _IterCounter(Hook):

    def __init__(self):
        self.iters = 0

    def after_train_iter(self, runner, *args, **kwargs):
        self.iters += 1


def _runner(cfg_path, work_dir, **options):
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict(options)
    cfg.work_dir = str(work_dir)
    runner = Runner.from_cfg(cfg)
    counter = _IterCounter()
    runner.register_hook(counter)
    return runner, counter


def test_video_head_vs_dataset_num_classes(tmp_path, tiny_video_data,
                                           clean_loggers):
    # The tiny AdaptFormer config has the hook; its head has 2 classes.
    cfg = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    runner, counter = _runner(cfg, tmp_path / 'w',
                              **{'train_dataloader.dataset.num_classes': 51})
    with pytest.raises(ValueError) as info:
        runner.train()
    assert str(info.value).startswith(
        'model.cls_head.num_classes=2 but '
        'train_dataloader.dataset.num_classes=51.')
    assert counter.iters == 0


def test_image_head_vs_dataset_classes(tmp_path, tiny_image_data,
                                       clean_loggers):
    cfg = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        "default_hooks = dict(config_check=dict(type='ConfigCheckHook'))\n")
    runner, counter = _runner(cfg, tmp_path / 'w',
                              **{'model.head.num_classes': 3})
    with pytest.raises(ValueError) as info:
        runner.train()
    message = str(info.value)
    assert message.startswith('model.head.num_classes=3 but '
                              'model.data_preprocessor.num_classes=2 and '
                              'train_dataloader.dataset has 2 classes '
                              "(len(metainfo['classes']) of CustomDataset)")
    assert 'val_dataloader.dataset has 2 classes' in message
    assert counter.iters == 0


def test_matching_num_classes_trains(tmp_path, tiny_image_data, clean_loggers):
    cfg = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        "default_hooks = dict(config_check=dict(type='ConfigCheckHook'))\n")
    runner, counter = _runner(cfg, tmp_path / 'w',
                              **{'train_cfg.max_epochs': 1})
    runner.train()
    assert counter.iters == 2
