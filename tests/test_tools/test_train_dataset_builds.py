# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py`` builds each dataset once before the Runner.

Its dataset check (``check_datasets``, through ``check_dataloaders``)
built every dataset with ``lazy_init=True`` and dropped it; the head
classes check after it (``check_head_classes``) built each again. The
datasets the first check built are now handed over to the second."""
from collections import Counter

import pytest
from config_writers import video_data_cfg, write_config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_modules import load_tool

from mmadaptformer.datasets import CheckedVideoDataset
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.config_loading import load_config_file

#: ``ann_file`` of each ``BuildCountingVideoDataset`` built.
BUILT = Counter()


class BuildCountingVideoDataset(CheckedVideoDataset):
    """A ``CheckedVideoDataset`` that counts its builds, by ``ann_file``."""

    def __init__(self, ann_file: str, **kwargs) -> None:
        BUILT[ann_file] += 1
        super().__init__(ann_file=ann_file, **kwargs)


def test_each_dataset_is_built_once_before_the_runner(tmp_path,
                                                      tiny_video_data):
    """The train and val datasets are built once each by the checks that
    run before the Runner (twice each before). A misspelled ``env_cfg``
    key, checked after both dataset checks, ends the run there, before the
    work dir is made."""
    body = video_data_cfg(tiny_video_data) + \
        'env_cfg = dict(cudnn_benchmrk=False)\n'
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          body)
    work_dir = tmp_path / 'work'
    train = load_tool('train.py')
    args = train.parse_args([config, '--work-dir', str(work_dir)])
    cfg = train.merge_args(load_config_file(config), args)
    # The class itself, as a config may give it: registered under a name,
    # it would stay in mmaction's registry for the other tests.
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.type = BuildCountingVideoDataset
    BUILT.clear()
    with pytest.raises(ConfigError, match='cudnn_benchmrk'):
        train.start_training(cfg, args)
    assert BUILT == {tiny_video_data['train']: 1, tiny_video_data['val']: 1}
    assert not work_dir.exists()
