# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``build_runner(cfg, datasets)`` hands the datasets read before the
Runner to its loops through ``build_dataloader`` (MMEngine's public
method, which takes a dataloader config whose ``dataset`` is a dataset
object), not by rewriting MMEngine's private ``_train_dataloader`` (and
``_val_``, ``_test_``) attributes: the runner's dataloader configs keep
their dataset configs, each dataset is still built once a run, and the
training config copy is byte for byte the one a run that was given no
datasets writes."""
import collections
import os

import pytest
from helpers import TINY_VIDEO_CONFIG, video_data_cfg, write_config
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmadaptformer.datasets import CheckedVideoDataset
from mmadaptformer.engine import build_runner
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.dataloader_check import check_dataloaders
from mmadaptformer.utils.early_datasets import read_datasets

LOADERS = ['train_dataloader', 'val_dataloader', 'test_dataloader']


def _cfg(tmp_path, data):
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(data))
    cfg = Config.fromfile(config)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.max_epochs = 1
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=10, save_last=False)
    return cfg, config


def _counting_lists(monkeypatch):
    """Counts, by annotation file, the lists ``CheckedVideoDataset`` reads
    (its full build); each read is the real one."""
    counts = collections.Counter()
    read_list = CheckedVideoDataset.load_data_list

    def load_data_list(self):
        counts[self.ann_file] += 1
        return read_list(self)

    monkeypatch.setattr(CheckedVideoDataset, 'load_data_list', load_data_list)
    return counts


def _copy_bytes(cfg) -> bytes:
    with open(f'{cfg.work_dir}/cfg.py', 'rb') as f:
        return f.read()


def test_datasets_reach_the_loops_without_private_attributes(
        tmp_path, tiny_video_data, clean_loggers, monkeypatch):
    cfg, config = _cfg(tmp_path, tiny_video_data)
    # Without datasets: the Runner builds each from its config.
    runner = build_runner(cfg)
    runner.train()
    stock_copy = _copy_bytes(cfg)

    counts = _counting_lists(monkeypatch)
    datasets = read_datasets(check_dataloaders(cfg, config, LOADERS), LOADERS)
    assert sorted(datasets) == sorted(LOADERS)
    runner = build_runner(cfg, datasets)
    # MMEngine's own dataloader configs are the config's, untouched.
    for loader in LOADERS:
        loader_cfg = getattr(runner, f'_{loader}')
        assert isinstance(loader_cfg['dataset'], dict), loader
        assert loader_cfg == cfg[loader]
    runner.train()
    runner.test()
    # Read once each, by read_datasets: the val and test lists are one
    # file, read by each of their datasets.
    assert counts == {tiny_video_data['train']: 1, tiny_video_data['val']: 2}
    for loader in LOADERS:
        built = getattr(runner, loader).dataset
        assert isinstance(built, type(datasets[loader]))
        assert len(built) == len(datasets[loader])
    assert _copy_bytes(cfg) == stock_copy


def test_extra_dataloader_configs_are_built_from_their_configs(
        tmp_path, tiny_video_data, clean_loggers):
    """Guards kept behaviour: a dataloader config that is not one the
    runner was given (an extra loader of a multi-loader loop, an equal
    copy) is built from its own config, as MMEngine builds it."""
    cfg, config = _cfg(tmp_path, tiny_video_data)
    datasets = read_datasets(
        check_dataloaders(cfg, config, ['train_dataloader']),
        ['train_dataloader'])
    runner = build_runner(cfg, datasets)
    given = datasets['train_dataloader']
    given.ann_file = str(tmp_path / 'not_read.txt')
    equal = cfg.train_dataloader.copy()
    assert runner.build_dataloader(equal).dataset.ann_file == \
        tiny_video_data['train']
    # The runner's own is built on the dataset given (a deep copy).
    own = runner.build_dataloader(runner._train_dataloader)
    assert own.dataset.ann_file == given.ann_file


@RUNNERS.register_module(force=True)
class KeywordsOnlyRunner(Runner):
    """A config's own ``runner_type`` whose ``__init__`` names no
    argument, as a subclass that only passes them on may."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)


def test_a_runner_type_taking_only_keywords_gets_both_checks(
        tmp_path, tiny_video_data, clean_loggers):
    """Guards kept behaviour: the mixin reads ``work_dir`` (for the
    planted-link check) and the dataloader configs (for the datasets
    given) from keyword arguments too, where the runner's signature names
    neither."""
    cfg, config = _cfg(tmp_path, tiny_video_data)
    cfg.runner_type = 'KeywordsOnlyRunner'
    datasets = read_datasets(
        check_dataloaders(cfg, config, ['train_dataloader']),
        ['train_dataloader'])
    datasets['train_dataloader'].ann_file = str(tmp_path / 'not_read.txt')
    runner = build_runner(cfg, datasets)
    assert isinstance(runner, KeywordsOnlyRunner)
    assert runner.train_dataloader.dataset.ann_file == \
        str(tmp_path / 'not_read.txt')
    if os.geteuid() != 0:
        return  # only root can plant a link that another user owns
    shared = tmp_path / 'shared'
    shared.mkdir()
    shared.chmod(0o1777)
    (tmp_path / 'home').mkdir()
    link = shared / 'run'
    link.symlink_to(tmp_path / 'home')
    os.lchown(link, 65534, 65534)
    cfg.work_dir = str(link)
    with pytest.raises(ConfigError, match=f'work_dir {link}: '):
        build_runner(cfg)
    assert not os.listdir(tmp_path / 'home')
