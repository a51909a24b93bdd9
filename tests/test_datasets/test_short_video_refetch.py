# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Training on videos that are all shorter than a clip with
``short_videos='skip'``: every draw is skipped as short, and the error
says so.

It said ``BrokenVideoError: 11 samples in a row ... could not be
loaded``, though none was broken: each was skipped as short."""
import pytest
from mmaction.structures import ActionDataSample

from mmadaptformer.datasets import (BrokenVideoError, CheckedVideoDataset,
                                    ShortVideoError)
from mmadaptformer.datasets.training_refetch import load_training_sample

# Index 0: broken; 1 and 2: short; 3: good.
_FILES = ['broken.mp4', 'a.mp4', 'b.mp4', 'good.mp4']


def _prepare(idx):
    if idx == 0:
        raise OSError('cannot decode')
    if idx in (1, 2):
        raise ShortVideoError(f'{_FILES[idx]} is short', _FILES[idx], idx + 2,
                              10)
    return dict(data_samples=ActionDataSample(), idx=idx)


def _load(draws, max_refetch):
    draws = iter(draws)
    return load_training_sample(
        1,
        prepare=_prepare,
        filename=lambda i: _FILES[i],
        describe=lambda i: f'{_FILES[i]} (list.txt:{i + 1})',
        draw_another=lambda: next(draws),
        max_refetch=max_refetch,
        short_videos='skip',
        ann_file='list.txt')


def test_samples_all_short_are_named_short_on_one_line():
    with pytest.raises(ShortVideoError) as info:
        _load([2, 1, 3], max_refetch=2)
    assert str(info.value) == (
        'CheckedVideoDataset: the 3 samples drawn in a row from list.txt '
        '(max_refetch=2) were all videos shorter than a clip, skipped with '
        "short_videos='skip' (none was broken): 2 videos, a.mp4 (3 of 10 "
        'frames), b.mp4 (4 of 10 frames). A clip needs 10 frames '
        '(min_frames; by default the frames one clip of the pipeline spans, '
        '(clip_len - 1) * frame_interval + 1 for SampleFrames). Set '
        "short_videos='report' to train on them with repeated frames, lower "
        'min_frames or the clip span, or list longer videos.')
    assert (info.value.filename, info.value.num_frames,
            info.value.min_frames) == ('a.mp4', 3, 10)


def test_short_and_broken_samples_are_counted_apart():
    with pytest.raises(BrokenVideoError) as info:
        _load([0, 2, 3], max_refetch=2)
    assert str(info.value) == (
        'CheckedVideoDataset: 3 samples in a row of list.txt were skipped: '
        '1 could not be loaded and 2 were shorter than a clip (short_videos='
        "'skip') (max_refetch=2); tried:\n"
        '  a.mp4 (list.txt:2): 3 frames, fewer than 10 '
        "(short_videos='skip')\n"
        '  broken.mp4 (list.txt:1): OSError: cannot decode\n'
        '  b.mp4 (list.txt:3): 4 frames, fewer than 10 '
        "(short_videos='skip')")


def test_a_real_dataset_of_short_videos_names_them_short(tiny_video_data):
    """Real videos of 16 frames, a clip of 100 (``min_frames``)."""
    dataset = CheckedVideoDataset(
        ann_file=tiny_video_data['train'],
        data_prefix=dict(video=tiny_video_data['videos']),
        pipeline=[
            dict(type='DecordInit'),
            dict(type='SampleFrames', clip_len=4, frame_interval=3),
            dict(type='DecordDecode'),
        ],
        min_frames=100,
        short_videos='skip',
        max_refetch=2)
    with pytest.raises(ShortVideoError) as info:
        dataset[0]
    message = str(info.value)
    assert '\n' not in message
    assert message.startswith(
        'CheckedVideoDataset: the 3 samples drawn in a row from '
        f"{tiny_video_data['train']} (max_refetch=2) were all videos "
        "shorter than a clip, skipped with short_videos='skip'"), message
    assert 'of 100 frames)' in message and 'A clip needs 100 frames' in message
