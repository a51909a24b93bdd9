# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Fixtures shared by the tests of ``tools/infer.py``."""
import pytest
from helpers import (TINY_VIDEO_CONFIG, load_tool, save_stock_video_checkpoint,
                     video_data_cfg, write_config)


@pytest.fixture(scope='module')
def infer():
    """``tools/infer.py``'s ``main``, run in the test's process."""
    return load_tool('infer.py').main


@pytest.fixture(scope='module')
def stock_video_model(tmp_path_factory, tiny_video_data):
    """The tiny video config on the tiny data and a full checkpoint of it
    (random weights)."""
    root = tmp_path_factory.mktemp('stock_video_model')
    config = write_config(root / 'tiny.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    checkpoint = str(root / 'full.pth')
    save_stock_video_checkpoint(checkpoint)
    return dict(config=config, checkpoint=checkpoint)
