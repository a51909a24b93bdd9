# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A text where the optimizer takes a number is refused, naming the entry.

``--cfg-options optim_wrapper.optimizer.lr=O.1`` (a letter O) reached
torch's ``SGD``, which failed in its first comparison (``TypeError: '<' not
supported between instances of 'str' and 'float'``) after the work dir was
made, naming no key."""
import pytest
from helpers import TINY_VIDEO_CONFIG, video_data_cfg, write_config
from mmengine.config import Config
from refused_runs import refused_run

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.optimizer_check import check_optimizer_cfg


def test_train_names_a_text_learning_rate(tmp_path, tiny_video_data):
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    # Exit status 1 and no work dir made are asserted by refused_run.
    assert refused_run(
        'train.py',
        config,
        tmp_path,
        '--cfg-options',
        'optim_wrapper.optimizer.lr=O.1',
        no_work_dir=True) == (
            "ConfigError: --cfg-options optim_wrapper.optimizer.lr='O.1': "
            "SGD takes a number as lr (default 0.001), got the text 'O.1'.")


def test_config_file_text_momentum_is_named_with_its_file(tmp_path):
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.optim_wrapper.optimizer.momentum = '0.9'
    with pytest.raises(
            ConfigError,
            match=r'optim_wrapper\.optimizer\.momentum: SGD takes a number '
            r"as momentum \(default 0\), got the text '0\.9'\."):
        check_optimizer_cfg(cfg, TINY_VIDEO_CONFIG, None)
    cfg.optim_wrapper.optimizer.momentum = 0.9
    check_optimizer_cfg(cfg, TINY_VIDEO_CONFIG, None)
