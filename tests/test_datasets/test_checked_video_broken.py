# Copyright (c) mmadaptformer contributors. All rights reserved.
"""CheckedVideoDataset on real broken video files: found by the container
check and the scan, replaced by another sample in training, an error naming
the file in test mode, dropped up front with ``skip_broken``; a transform
that fails after the read is the pipeline's mistake, not the file's."""
import os.path as osp
import re

import numpy as np
import pytest
from broken_videos import BROKEN, video_path, write_list
from checked_videos import build_checked, dataset_warnings, tiny_pipeline

from mmadaptformer.datasets import BrokenVideoError
from mmadaptformer.utils.transform_steps import PipelineStepError
from mmadaptformer.utils.video_containers import check_container
from mmadaptformer.utils.video_probe import scan_video


@pytest.mark.parametrize('kind', sorted(BROKEN))
def test_check_and_scan_find_each_broken_kind(video_files, kind):
    path = video_path(video_files, video_files[kind])
    why = scan_video(path)
    assert why is not None
    if kind in ('trunc_webm', 'trunc_avi', 'empty'):
        # Found from the header alone, before decord can crash on it.
        with pytest.raises(BrokenVideoError, match=re.escape(path)):
            check_container(path)
        assert ('truncated' in why) if kind != 'empty' else ('0 bytes' in why)
    for name in video_files['good'] + [video_files['short']]:
        check_container(video_path(video_files, name))
        assert scan_video(video_path(video_files, name)) is None


@pytest.mark.parametrize('kind', sorted(BROKEN) + ['damaged'])
def test_training_draws_another_sample_and_warns(tmp_path, video_files,
                                                 log_records, kind):
    broken = video_files[kind]
    # The broken video is the only one of label 1.
    ann = write_list(tmp_path / 'train.txt', [f'{broken} 1'] +
                     [f'{name} 0' for name in video_files['good']])
    pipeline = tiny_pipeline()
    # Decode all 16 frames, so that damaged.mp4's bad frames are hit.
    pipeline[1] = dict(
        type='SampleFrames', clip_len=16, frame_interval=1, num_clips=1)
    dataset = build_checked(ann, video_files, pipeline=pipeline, num_classes=2)
    np.random.seed(0)
    data = dataset[0]
    skipped = data['data_samples'].metainfo['skipped_videos']
    assert skipped and set(skipped) == {video_path(video_files, broken)}
    assert data['data_samples'].gt_label.item() == 0
    assert data['inputs'].shape == (1, 3, 16, 32, 32)
    warnings = dataset_warnings(log_records)
    assert len(warnings) == len(skipped)
    assert f'skipping broken video {video_path(video_files, broken)} ' \
           f'({ann}:1)' in warnings[0]
    # A good sample carries an empty list.
    assert dataset[1]['data_samples'].metainfo['skipped_videos'] == []


def test_training_skips_a_video_a_transform_fails_on_not_as_broken(
        tmp_path, video_files, log_records):
    """A crop that fits the 32-pixel videos and not a 64-pixel one: that
    video was read, and is skipped without being called broken."""
    from mmadaptformer.testing import make_moving_square_dataset
    big = make_moving_square_dataset(
        str(tmp_path / 'big'), num_per_class=1, size=64, splits=('x', ))
    large = osp.join(big['videos'], 'x_1_0.mp4')
    ann = write_list(tmp_path / 'train.txt', [f'{large} 1'] +
                     [f'{name} 0' for name in video_files['good']])
    pipeline = tiny_pipeline()
    pipeline[3] = dict(type='ThreeCrop', crop_size=32)
    dataset = build_checked(ann, video_files, pipeline=pipeline, num_classes=2)
    np.random.seed(0)
    data = dataset[0]
    assert data['data_samples'].gt_label.item() == 0
    warnings = dataset_warnings(log_records)
    assert warnings and warnings[0].startswith(
        f'CheckedVideoDataset: skipping video {large} ({ann}:1): after it '
        'was read, ThreeCrop (pipeline[3]) failed: AssertionError: raised at '
        'mmaction/datasets/transforms/processing.py:'
        f'{_assert_line("ThreeCrop")}: '), warnings[0]
    assert 'broken' not in warnings[0]


def test_training_gives_up_after_max_refetch_naming_the_files(
        tmp_path, video_files, log_records):
    names = sorted(BROKEN.values())
    ann = write_list(tmp_path / 'train.txt', [f'{n} 0' for n in names])
    dataset = build_checked(ann, video_files, max_refetch=3)
    np.random.seed(0)
    with pytest.raises(BrokenVideoError) as info:
        dataset[0]
    message = str(info.value)
    assert '4 samples in a row' in message and 'max_refetch=3' in message
    tried = message.splitlines()[1:]
    assert len(tried) == 4
    assert tried[0].startswith(f'  {video_path(video_files, names[0])} '
                               f'({ann}:1): ')
    for line in tried:
        assert any(video_path(video_files, n) in line for n in names)
    assert len(dataset_warnings(log_records)) == 4


@pytest.mark.parametrize('kind', sorted(BROKEN) + ['damaged'])
def test_test_mode_errors_naming_the_file(tmp_path, video_files, kind):
    ann = write_list(tmp_path / 'val.txt',
                     [f'{video_files["good"][0]} 0', f'{video_files[kind]} 1'])
    pipeline = tiny_pipeline('val_pipeline')
    pipeline[1] = dict(
        type='SampleFrames',
        clip_len=16,
        frame_interval=1,
        num_clips=1,
        test_mode=True)
    # check_files=None: the truncated and empty kinds are refused when the
    # dataset is built otherwise (test_evaluation_list_check); this is the
    # error evaluation gives when it reads one.
    dataset = build_checked(
        ann, video_files, pipeline=pipeline, test_mode=True, check_files=None)
    assert dataset[0]['inputs'].shape == (1, 3, 16, 32, 32)
    path = video_path(video_files, video_files[kind])
    with pytest.raises(
            BrokenVideoError,
            match=re.escape(f'Cannot load {path} ({ann}:2)')) as e:
        dataset[1]
    assert 'skip_broken=True' in str(e.value)


def test_skip_broken_drops_broken_videos_up_front(tmp_path, video_files,
                                                  log_records):
    good = video_files['good'] + [video_files['short']]
    broken = sorted(BROKEN.values())
    ann = write_list(tmp_path / 'val.txt',
                     [f'{n} 0' for n in good] + [f'{n} 1' for n in broken])
    dataset = build_checked(
        ann,
        video_files,
        pipeline=tiny_pipeline('val_pipeline'),
        test_mode=True,
        skip_broken=True)
    assert len(dataset) == len(good)
    assert [dataset.get_data_info(i)['filename'] for i in range(len(good))
            ] == [video_path(video_files, n) for n in good]
    warnings = dataset_warnings(log_records)
    assert len(warnings) == 1
    assert (f'dropped {len(broken)} of {len(good) + len(broken)} videos '
            f'of {ann}; evaluation uses {len(good)}') in warnings[0]
    for lineno, name in enumerate(broken, len(good) + 1):
        assert f'{ann}:{lineno}: {video_path(video_files, name)}: ' \
            in warnings[0]
    # In training, skip_broken has no effect: broken videos are replaced.
    assert len(build_checked(ann, video_files,
                             skip_broken=True)) == len(good) + len(broken)


def test_skip_broken_scan_shows_progress_on_a_terminal(tmp_path, video_files,
                                                       monkeypatch):
    import sys

    from mmadaptformer.testing.terminal import pseudo_terminal
    monkeypatch.delenv('CI', raising=False)
    ann = write_list(tmp_path / 'val.txt',
                     [f'{n} 0' for n in video_files['good']])
    with pseudo_terminal() as (tty, read):
        monkeypatch.setattr(sys, 'stderr', tty)
        build_checked(
            ann,
            video_files,
            pipeline=tiny_pipeline('val_pipeline'),
            test_mode=True,
            skip_broken=True)
        out = read()
    assert f'Scanning the videos of {ann}' in out
    assert '4/4' in out and 'ETA' in out


def test_test_mode_names_a_transform_that_fails_after_the_read(
        tmp_path, video_files):
    """A crop the resized frames do not fit is the pipeline's mistake, not
    the file's: no advice to replace the video."""
    ann = write_list(tmp_path / 'val.txt', [f'{video_files["good"][0]} 0'])
    pipeline = tiny_pipeline('test_pipeline')
    pipeline[3] = dict(type='Resize', scale=(-1, 64))
    dataset = build_checked(
        ann, video_files, pipeline=pipeline, test_mode=True)
    path = video_path(video_files, video_files['good'][0])
    with pytest.raises(PipelineStepError) as e:
        dataset[0]
    assert str(e.value) == (
        f'Cannot evaluate {path} ({ann}:1): after it was read, the test '
        "pipeline's ThreeCrop (pipeline[4]) failed: AssertionError: raised "
        'at mmaction/datasets/transforms/processing.py:'
        f'{_assert_line("ThreeCrop")}: assert crop_h == img_h or crop_w == '
        "img_w. Check that transform's settings and those of the ones "
        'before it.')
    assert not isinstance(e.value, BrokenVideoError)


def _assert_line(transform: str) -> int:
    """The line of mmaction2's ``transform`` that asserts the crop fits."""
    import inspect

    from mmaction.registry import TRANSFORMS
    method = TRANSFORMS.get(transform).transform
    lines, first = inspect.getsourcelines(method)
    return first + next(i for i, line in enumerate(lines)
                        if line.strip().startswith('assert crop_h'))
