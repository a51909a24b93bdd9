# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``data_prefix`` key the dataset does not read is refused.

``--cfg-options val_dataloader.dataset.data_prefix.vdieo=data/x`` added a
key that mmaction2's ``VideoDataset`` never reads: MMEngine joined it with
``data_root`` and training validated on the config's own videos without a
word. The tools now name the entry, the key it was meant to be and the
keys the dataset reads, before the work dir is made."""
import pytest
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, video_data_cfg,
                     write_config)
from refused_runs import refused_run

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.dataset_args import (check_dataset_arguments,
                                              data_prefix_keys)


def test_train_refuses_a_misspelled_data_prefix_key(tmp_path, tiny_video_data):
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    # Exit status 1 and no work dir made are asserted by refused_run.
    assert refused_run(
        'train.py',
        config,
        tmp_path,
        '--cfg-options',
        'val_dataloader.dataset.data_prefix.vdieo=data/x',
        no_work_dir=True) == (
            'ConfigError: --cfg-options val_dataloader.dataset.data_prefix.'
            "vdieo='data/x': CheckedVideoDataset reads no data_prefix key "
            "'vdieo' (did you mean 'video'?); it reads: video, and would "
            'ignore this one.')


def test_a_config_file_key_is_named_with_its_file():
    dataset = dict(
        type='mmaction.RawframeDataset',
        ann_file='a.txt',
        data_prefix=dict(imgs='frames'))
    with pytest.raises(
            ConfigError,
            match=r'^cfg\.py: val_dataloader\.dataset\.data_prefix\.imgs: '
            r"RawframeDataset reads no data_prefix key 'imgs' \(did you "
            r"mean 'img'\?\)"):
        check_dataset_arguments(dataset, 'val_dataloader.dataset', 'cfg.py',
                                None)


def test_datasets_whose_keys_cannot_be_told_are_left_alone():
    """Guards kept behaviour: mmpretrain's string ``data_prefix`` and
    mmaction2's datasets that read a key their base's default does not
    name (``PoseDataset``: ``skeleton``) are not checked; the tiny image
    config's own datasets pass."""
    from mmaction.registry import DATASETS as MMACTION_DATASETS
    from mmengine.config import Config
    from mmpretrain.registry import DATASETS as MMPRETRAIN_DATASETS
    assert data_prefix_keys(MMACTION_DATASETS.get('PoseDataset')) is None
    assert data_prefix_keys(MMPRETRAIN_DATASETS.get('CustomDataset')) is None
    assert data_prefix_keys(MMACTION_DATASETS.get('VideoDataset')) == ['video']
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    dataset = cfg.train_dataloader.dataset
    check_dataset_arguments(
        dict(dataset, type='mmpretrain.' + dataset.type),
        'train_dataloader.dataset', TINY_IMAGE_CONFIG, None)
