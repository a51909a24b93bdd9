# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``make_moving_square_rawframes`` writes the data that
``configs/tiny/tiny_adaptformer_rawframes.py`` reads: before it, the tiny
config's README had no command that makes ``data/tiny_rawframes``."""
import os.path as osp

import numpy as np
from helpers import TINY_ADAPTFORMER_RAWFRAMES_CONFIG
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmadaptformer.testing import (make_moving_square_dataset,
                                   make_moving_square_rawframes)


def test_rawframes_are_the_video_datasets_clips_as_the_config_reads_them(
        tmp_path):
    root = str(tmp_path / 'data' / 'tiny_rawframes')
    out = make_moving_square_rawframes(root, num_per_class=2)
    assert out['rawframes'] == osp.join(root, 'rawframes')
    with open(out['val']) as f:
        lines = f.read().splitlines()
    assert lines == [
        'val_0_0 16 0', 'val_0_1 16 0', 'val_1_0 16 1', 'val_1_1 16 1'
    ]
    cfg = Config.fromfile(TINY_ADAPTFORMER_RAWFRAMES_CONFIG)
    dataset_cfg = cfg.val_dataloader.dataset
    dataset_cfg.ann_file = out['val']
    dataset_cfg.data_prefix = dict(img=out['rawframes'])
    init_default_scope('mmaction')
    from mmaction.registry import DATASETS
    dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == 4
    sample = dataset[2]
    assert sample['data_samples'].gt_label.item() == 1
    assert tuple(sample['inputs'].shape) == (1, 3, 4, 32, 32)
    # The same clips as the video dataset's for the same seed: the frames
    # RawFrameDecode reads (BGR to RGB) against the videos' first frame.
    from mmcv import imread
    videos = make_moving_square_dataset(
        str(tmp_path / 'videos'), num_per_class=2)
    import decord
    video = decord.VideoReader(osp.join(videos['videos'], 'val_1_0.mp4'))
    first = imread(
        osp.join(out['rawframes'], 'val_1_0', 'img_00001.jpg'),
        channel_order='rgb').astype(np.float32)
    assert np.abs(first - video[0].asnumpy()).mean() < 8
