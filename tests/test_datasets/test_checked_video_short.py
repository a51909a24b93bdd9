# Copyright (c) mmadaptformer contributors. All rights reserved.
"""CheckedVideoDataset on videos shorter than a clip: the clip span,
``short_videos='report'``, ``'skip'`` and ``'error'``, in training, in test
mode and from a dataloader worker."""
import re

import numpy as np
import pytest
from broken_videos import video_path, write_list
from checked_videos import build_checked, dataset_warnings, tiny_pipeline

from mmadaptformer.datasets import ShortVideoError
from mmadaptformer.datasets.short_videos import clip_frames


def test_video_shorter_than_the_clip_is_not_broken(tmp_path, video_files,
                                                   log_records):
    # One frame, a clip of 4 frames 3 apart: SampleFrames repeats it.
    ann = write_list(tmp_path / 'train.txt', [f'{video_files["short"]} 0'])
    data = build_checked(ann, video_files)[0]
    assert data['data_samples'].metainfo['skipped_videos'] == []
    assert data['inputs'].shape == (1, 3, 4, 32, 32)
    assert dataset_warnings(log_records) == []
    # Reported (by default) for DataHealthHook: the file, its frames and
    # the clip span, (4 - 1) * 3 + 1 = 10 frames.
    assert data['data_samples'].metainfo['short_videos'] == [
        (video_path(video_files, video_files['short']), 1, 10)
    ]


@pytest.mark.parametrize('sampler, frames', [
    (dict(type='SampleFrames', clip_len=4, frame_interval=3), 10),
    (dict(type='SampleFrames', clip_len=8, frame_interval=4), 29),
    (dict(
        type='SampleFrames',
        clip_len=4,
        frame_interval=3,
        temporal_jitter=True), 12),
    (dict(type='UniformSample', clip_len=8), 8),
    (dict(type='SampleFrames', clip_len=4, target_fps=30), None),
    (dict(type='DenseSampleFrames', clip_len=4), None),
    (None, None),
])
def test_clip_frames_is_the_span_below_which_frames_repeat(sampler, frames):
    from mmaction.datasets.transforms import DecordInit
    from mmaction.registry import TRANSFORMS
    transforms = [DecordInit()]
    if sampler is not None:
        transforms.append(TRANSFORMS.build(sampler))
    assert clip_frames(transforms) == frames
    if sampler is None or frames is None or sampler['type'] != 'SampleFrames':
        return
    # SampleFrames repeats a frame below the span (with temporal jitter:
    # may repeat), never at it.
    sample = transforms[1]
    cases = [(frames, False)]
    if not sample.temporal_jitter:
        cases.append((frames - 1, True))
    for total, repeats in cases:
        for _ in range(20):
            inds = sample(dict(total_frames=total,
                               start_index=0))['frame_inds']
            assert (len(set(inds)) < len(inds)) == repeats


def _short_list(tmp_path, video_files, split='train'):
    # The short video is the only one of label 1.
    return write_list(tmp_path / f'{split}.txt',
                      [f'{video_files["short"]} 1'] +
                      [f'{n} 0' for n in video_files['good']])


def test_short_video_error_names_file_line_and_frames(tmp_path, video_files):
    ann = _short_list(tmp_path, video_files)
    path = video_path(video_files, video_files['short'])
    for test_mode in (False, True):
        pipeline = tiny_pipeline(
            'val_pipeline' if test_mode else 'train_pipeline')
        dataset = build_checked(
            ann,
            video_files,
            pipeline=pipeline,
            test_mode=test_mode,
            short_videos='error')
        with pytest.raises(ShortVideoError) as info:
            dataset[0]
        assert str(info.value).startswith(
            f"{path} ({ann}:1) has 1 frames, fewer than the pipeline's "
            "clip span, min_frames=10 (short_videos='error').")
        assert dataset[1]['inputs'].shape[2] == 4  # 16 frames are enough
    # An explicit min_frames makes the 16-frame videos short too.
    dataset = build_checked(
        ann, video_files, min_frames=17, short_videos='error')
    with pytest.raises(
            ShortVideoError,
            match=re.escape('has 16 frames, fewer than min_frames=17')):
        dataset[1]


def test_training_skips_short_videos_with_skip(tmp_path, video_files,
                                               log_records):
    ann = _short_list(tmp_path, video_files)
    dataset = build_checked(ann, video_files, short_videos='skip')
    np.random.seed(0)
    data = dataset[0]
    metainfo = data['data_samples'].metainfo
    assert metainfo['skipped_short_videos'] == [
        (video_path(video_files, video_files['short']), 1, 10)
    ]
    assert metainfo['skipped_videos'] == []
    assert metainfo['short_videos'] == []
    assert data['data_samples'].gt_label.item() == 0
    # With only short videos, the refetch limit names them short.
    ann = write_list(tmp_path / 'short.txt', [f'{video_files["short"]} 0'])
    with pytest.raises(
            ShortVideoError,
            match='were all videos shorter than a clip, skipped with '
            "short_videos='skip' \\(none was broken\\): 1 video, .*"
            '\\(1 of 10 frames\\)'):
        build_checked(ann, video_files, short_videos='skip', max_refetch=2)[0]


def test_test_mode_drops_short_videos_up_front_with_skip(
        tmp_path, video_files, log_records):
    ann = _short_list(tmp_path, video_files, 'val')
    dataset = build_checked(
        ann,
        video_files,
        pipeline=tiny_pipeline('val_pipeline'),
        test_mode=True,
        short_videos='skip')
    assert len(dataset) == len(video_files['good'])
    warnings = dataset_warnings(log_records)
    assert len(warnings) == 1
    assert (f"short_videos='skip' dropped 1 of 5 videos of {ann}, shorter "
            f'than a clip (min_frames=10); evaluation uses 4:\n  {ann}:1: '
            f'{video_path(video_files, video_files["short"])}: 1 frames'
            ) == warnings[0].split('CheckedVideoDataset: ')[1]


@pytest.mark.parametrize('kwargs, error', [
    (dict(short_videos='drop'), "short_videos='drop' is not one of"),
    (dict(min_frames=0), 'min_frames must be an int >= 1 or None, got 0'),
    (dict(min_frames=True), 'got True'),
    (dict(short_videos='skip', pipeline=[dict(type='DecordInit')]),
     "short_videos='skip' needs min_frames, and the pipeline has no "
     'SampleFrames or UniformSample'),
])
def test_bad_short_video_arguments_are_named(tmp_path, video_files, kwargs,
                                             error):
    ann = write_list(tmp_path / 'train.txt', ['good_0.mp4 0'])
    with pytest.raises(ValueError, match=re.escape(error)):
        build_checked(ann, video_files, **kwargs)


def test_short_video_error_reaches_the_main_process_from_a_worker(
        tmp_path, video_files):
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    ann = write_list(tmp_path / 'train.txt', [f'{video_files["short"]} 0'])
    init_default_scope('mmaction')
    loader = Runner.build_dataloader(
        dict(
            dataset=dict(
                type='CheckedVideoDataset',
                ann_file=ann,
                data_prefix=dict(video=video_files['videos']),
                pipeline=tiny_pipeline(),
                short_videos='error'),
            batch_size=1,
            num_workers=1,
            sampler=dict(type='DefaultSampler', shuffle=False)))
    path = video_path(video_files, video_files['short'])
    with pytest.raises(
            ShortVideoError,
            match=re.escape(f'{path} ({ann}:1) has 1 frames, fewer than')):
        next(iter(loader))
