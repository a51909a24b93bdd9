# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``build_runner(cfg, datasets)``: the Runner uses the datasets the tools
built and read before it, not builds them again from the config, and its
config (``runner.cfg``, which it dumps) keeps the datasets' configs.
tests/test_tools/test_datasets_read_once.py runs the tools."""
from helpers import TINY_VIDEO_CONFIG, video_data_cfg, write_config
from mmengine.config import Config
from mmengine.runner import Runner

from mmadaptformer.engine import ConfigCopyRunner, build_runner
from mmadaptformer.utils.dataloader_check import check_dataloaders
from mmadaptformer.utils.early_datasets import read_datasets


def _read_cfg(tmp_path, data):
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(data))
    cfg = Config.fromfile(config)
    cfg.work_dir = str(tmp_path / 'work')
    loaders = ['train_dataloader', 'val_dataloader']
    datasets = read_datasets(check_dataloaders(cfg, config, loaders), loaders)
    assert sorted(datasets) == loaders
    return cfg, datasets


def test_the_runner_uses_the_datasets_given(tmp_path, tiny_video_data,
                                            clean_loggers):
    cfg, datasets = _read_cfg(tmp_path, tiny_video_data)
    before = cfg.pretty_text
    # Read again, the lists would name this file: a dataset built from
    # the config would fail.
    for dataset in datasets.values():
        dataset.ann_file = str(tmp_path / 'not_read.txt')
    runner = build_runner(cfg, datasets)
    assert cfg.pretty_text == before
    assert runner.cfg.pretty_text == before
    for loader in ('train_dataloader', 'val_dataloader'):
        built = getattr(runner, loader).dataset
        # MMEngine's build_dataloader works on a deep copy.
        assert isinstance(built, type(datasets[loader]))
        assert built.ann_file == datasets[loader].ann_file
        assert len(built) == 8
    # The test set was not given: built from the config.
    assert runner.test_dataloader.dataset.ann_file == tiny_video_data['val']


def test_a_runner_built_from_dicts_leaves_the_callers_own(
        tmp_path, tiny_video_data, clean_loggers):
    """A Runner built from its arguments holds the caller's dataloader
    dicts: they keep their dataset configs."""
    cfg, datasets = _read_cfg(tmp_path, tiny_video_data)
    train_loader = cfg.train_dataloader.to_dict()
    runner = ConfigCopyRunner(
        model=cfg.model,
        work_dir=cfg.work_dir,
        train_dataloader=train_loader,
        train_cfg=cfg.train_cfg,
        optim_wrapper=cfg.optim_wrapper,
        default_scope='mmaction',
        experiment_name='from_dicts')
    runner.use_datasets(datasets)
    assert isinstance(train_loader['dataset'], dict)
    assert runner.train_dataloader.dataset.ann_file == \
        tiny_video_data['train']
    # No val_dataloader: the val dataset given is left out.
    assert runner.val_loop is None


def test_a_stock_runner_builds_its_own(tmp_path, tiny_video_data,
                                       clean_loggers):
    """Guards kept behaviour: without ``datasets`` the Runner builds every
    dataset from its config, as MMEngine's does."""
    cfg, _ = _read_cfg(tmp_path, tiny_video_data)
    runner = build_runner(cfg)
    assert isinstance(runner, Runner)
    assert runner.train_dataloader.dataset.ann_file == \
        tiny_video_data['train']
