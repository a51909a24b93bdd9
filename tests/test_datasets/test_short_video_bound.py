# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A video is short when it has fewer frames than ``min_frames``: one of
exactly ``min_frames`` frames fills a clip without repeats."""
import os.path as osp

import pytest
from decord import VideoReader

from mmadaptformer.datasets import CheckedVideoDataset, ShortVideoError


def _dataset(data, min_frames, **kwargs):
    return CheckedVideoDataset(
        ann_file=data['train'],
        data_prefix=dict(video=data['videos']),
        pipeline=[
            dict(type='DecordInit'),
            dict(type='SampleFrames', clip_len=4, frame_interval=3),
            dict(type='DecordDecode'),
        ],
        min_frames=min_frames,
        **dict(dict(short_videos='error'), **kwargs))


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


def test_testing_keeps_the_videos_of_exactly_min_frames(tiny_video_data):
    """Guards against ``num_frames <= min_frames`` for ``<`` (video_scan.py
    ``scan_videos``): in test mode with short_videos='skip', videos as
    long as the clip were dropped, and a list of them refused."""
    with open(tiny_video_data['val']) as f:
        names = [line.split()[0] for line in f if line.strip()]
    lengths = {
        len(VideoReader(osp.join(tiny_video_data['videos'], name)))
        for name in names
    }
    frames, = lengths  # all of one length
    dataset = _dataset(
        dict(tiny_video_data, train=tiny_video_data['val']),
        frames,
        short_videos='skip',
        test_mode=True)
    assert len(dataset) == len(names)
