# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``load_training_sample`` on its own, with stand-in loaders: what it
skips, what it records, and when it gives up. test_checked_video_broken
and test_checked_video_short cover it through the dataset, on real broken
and short videos."""
import pytest
from mmaction.structures import ActionDataSample

from mmadaptformer.datasets import BrokenVideoError, ShortVideoError
from mmadaptformer.datasets.training_refetch import (SKIPPED_VIDEOS_KEY,
                                                     load_training_sample)

# Index 0: broken; 1: short; 2: rejected by the pipeline; 3: good.
_FILES = ['broken.mp4', 'short.mp4', 'rejected.mp4', 'good.mp4']


def _prepare(idx):
    if idx == 0:
        raise OSError('cannot decode')
    if idx == 1:
        raise ShortVideoError('short.mp4 is short', 'short.mp4', 3, 8)
    if idx == 2:
        return None
    return dict(data_samples=ActionDataSample(), idx=idx)


def _load(idx, draws, max_refetch=10, short_videos='skip'):
    draws = iter(draws)
    return load_training_sample(
        idx,
        prepare=_prepare,
        filename=lambda i: _FILES[i],
        describe=lambda i: f'{_FILES[i]} (list.txt:{i + 1})',
        draw_another=lambda: next(draws),
        max_refetch=max_refetch,
        short_videos=short_videos,
        ann_file='list.txt')


def test_skipped_videos_travel_with_the_sample_loaded():
    data = _load(0, [1, 2, 3])
    assert data['idx'] == 3
    meta = data['data_samples'].metainfo
    assert meta[SKIPPED_VIDEOS_KEY] == ['broken.mp4']
    assert meta['skipped_short_videos'] == [('short.mp4', 3, 8)]


def test_short_video_is_raised_with_short_videos_error():
    with pytest.raises(ShortVideoError, match='short.mp4'):
        _load(1, [3], short_videos='error')


def test_gives_up_after_max_refetch_naming_each_try():
    with pytest.raises(BrokenVideoError) as err:
        _load(0, [1, 2, 0], max_refetch=2)
    message = str(err.value)
    assert '3 samples in a row of list.txt' in message
    assert 'max_refetch=2' in message
    assert 'broken.mp4 (list.txt:1): OSError: cannot decode' in message
    assert 'short.mp4 (list.txt:2): 3 frames, fewer than 8 ' \
        "(short_videos='skip')" in message
    assert 'rejected.mp4 (list.txt:3): rejected by the pipeline' in message


def test_images_are_named_and_recorded_as_images():
    from mmpretrain.structures import DataSample

    from mmadaptformer.datasets import BrokenImageError
    from mmadaptformer.datasets.training_refetch import (IMAGES,
                                                         SKIPPED_IMAGES_KEY)
    files = ['broken.png', 'good.png']

    def prepare(idx):
        if idx == 0:
            raise AssertionError('failed to load image: broken.png')
        return dict(data_samples=DataSample(), idx=idx)

    def load(draws, max_refetch=10):
        draws = iter(draws)
        return load_training_sample(
            0,
            prepare=prepare,
            filename=lambda i: files[i],
            describe=lambda i: files[i],
            draw_another=lambda: next(draws),
            max_refetch=max_refetch,
            ann_file='images/train',
            files=IMAGES)

    meta = load([1])['data_samples'].metainfo
    assert meta[SKIPPED_IMAGES_KEY] == ['broken.png']
    assert SKIPPED_VIDEOS_KEY not in meta
    assert 'skipped_short_videos' not in meta
    with pytest.raises(BrokenImageError) as err:
        load([0, 0], max_refetch=1)
    assert str(err.value).startswith(
        'CheckedImageDataset: 2 samples in a row of images/train could not '
        'be loaded (max_refetch=1); tried:\n  broken.png: AssertionError: '
        'failed to load image: broken.png')
