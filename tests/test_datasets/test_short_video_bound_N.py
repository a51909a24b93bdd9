# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A video is short when it has fewer frames than ``min_frames``: one of
exactly ``min_frames`` frames fills a clip without repeats."""
import os.path as osp

import pytest
from decord import VideoReader

from mmadaptformer.datasets import CheckedVideoDataset, ShortVideoError


def _dataset(data, min_frames):
    return CheckedVideoDataset(
        ann_file=data['train'],
        data_prefix=dict(video=data['videos']),
        pipeline=[
            dict(type='DecordInit'),
            dict(type='SampleFrames', clip_len=4, frame_interval=3),
            dict(type='DecordDecode'),
        ],
        min_frames=min_frames,
        short_videos='error')


def test_a_video_of_exactly_min_frames_is_not_short(tiny_video_data):
    """Guards against ``num_frames <= min_frames`` for ``<``
    (checked_video_dataset.py): a video as long as the clip was named
    short, and with short_videos='error' stopped the run."""
    with open(tiny_video_data['train']) as f:
        first = f.readline().split()[0]
    frames = len(VideoReader(osp.join(tiny_video_data['videos'], first)))
    sample = _dataset(tiny_video_data, frames)[0]
    assert sample['total_frames'] == frames
    assert not sample.get('short_videos')
    with pytest.raises(ShortVideoError) as info:
        _dataset(tiny_video_data, frames + 1)[0]
    assert (info.value.filename, info.value.num_frames,
            info.value.min_frames) == (osp.join(tiny_video_data['videos'],
                                                first), frames, frames + 1)
