# Copyright (c) mmadaptformer contributors. All rights reserved.
"""CheckedVideoDataset on real good and broken video files."""
import logging
import re

import numpy as np
import pytest
from broken_videos import BROKEN, video_path, write_list
from helpers import TINY_VIDEO_CONFIG
from mmengine.config import Config

from mmadaptformer.datasets import (AnnotationError, BrokenVideoError,
                                    CheckedVideoDataset, ShortVideoError)
from mmadaptformer.datasets.short_videos import clip_frames
from mmadaptformer.utils.transform_steps import PipelineStepError
from mmadaptformer.utils.video_containers import check_container, scan_video


def _pipeline(split: str = 'train_pipeline'):
    return Config.fromfile(TINY_VIDEO_CONFIG)[split]


def _build(ann_file, files, **kwargs) -> CheckedVideoDataset:
    kwargs.setdefault('pipeline', _pipeline())
    return CheckedVideoDataset(
        ann_file=ann_file, data_prefix=dict(video=files['videos']), **kwargs)


def _warnings(records):
    # Not mmengine's own, such as its FileClient deprecation.
    return [
        r.getMessage() for r in records if r.levelno == logging.WARNING
        and r.getMessage().startswith('CheckedVideoDataset')
    ]


# ------------------------------------------------------------ broken files
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
    pipeline = _pipeline()
    # Decode all 16 frames, so that damaged.mp4's bad frames are hit.
    pipeline[1] = dict(
        type='SampleFrames', clip_len=16, frame_interval=1, num_clips=1)
    dataset = _build(ann, video_files, pipeline=pipeline, num_classes=2)
    np.random.seed(0)
    data = dataset[0]
    skipped = data['data_samples'].metainfo['skipped_videos']
    assert skipped and set(skipped) == {video_path(video_files, broken)}
    assert data['data_samples'].gt_label.item() == 0
    assert data['inputs'].shape == (1, 3, 16, 32, 32)
    warnings = _warnings(log_records)
    assert len(warnings) == len(skipped)
    assert f'skipping broken video {video_path(video_files, broken)} ' \
           f'({ann}:1)' in warnings[0]
    # A good sample carries an empty list.
    assert dataset[1]['data_samples'].metainfo['skipped_videos'] == []


def test_video_shorter_than_the_clip_is_not_broken(tmp_path, video_files,
                                                   log_records):
    # One frame, a clip of 4 frames 3 apart: SampleFrames repeats it.
    ann = write_list(tmp_path / 'train.txt', [f'{video_files["short"]} 0'])
    data = _build(ann, video_files)[0]
    assert data['data_samples'].metainfo['skipped_videos'] == []
    assert data['inputs'].shape == (1, 3, 4, 32, 32)
    assert _warnings(log_records) == []
    # Reported (by default) for DataHealthHook: the file, its frames and
    # the clip span, (4 - 1) * 3 + 1 = 10 frames.
    assert data['data_samples'].metainfo['short_videos'] == [
        (video_path(video_files, video_files['short']), 1, 10)
    ]


def test_training_gives_up_after_max_refetch_naming_the_files(
        tmp_path, video_files, log_records):
    names = sorted(BROKEN.values())
    ann = write_list(tmp_path / 'train.txt', [f'{n} 0' for n in names])
    dataset = _build(ann, video_files, max_refetch=3)
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
    assert len(_warnings(log_records)) == 4


# ---------------------------------------------------------------- test mode
@pytest.mark.parametrize('kind', sorted(BROKEN) + ['damaged'])
def test_test_mode_errors_naming_the_file(tmp_path, video_files, kind):
    ann = write_list(tmp_path / 'val.txt',
                     [f'{video_files["good"][0]} 0', f'{video_files[kind]} 1'])
    pipeline = _pipeline('val_pipeline')
    pipeline[1] = dict(
        type='SampleFrames',
        clip_len=16,
        frame_interval=1,
        num_clips=1,
        test_mode=True)
    # check_files=None: the truncated and empty kinds are refused when the
    # dataset is built otherwise (test_evaluation_list_check); this is the
    # error evaluation gives when it reads one.
    dataset = _build(
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
    dataset = _build(
        ann,
        video_files,
        pipeline=_pipeline('val_pipeline'),
        test_mode=True,
        skip_broken=True)
    assert len(dataset) == len(good)
    assert [dataset.get_data_info(i)['filename'] for i in range(len(good))
            ] == [video_path(video_files, n) for n in good]
    warnings = _warnings(log_records)
    assert len(warnings) == 1
    assert (f'dropped {len(broken)} of {len(good) + len(broken)} videos '
            f'of {ann}; evaluation uses {len(good)}') in warnings[0]
    for lineno, name in enumerate(broken, len(good) + 1):
        assert f'{ann}:{lineno}: {video_path(video_files, name)}: ' \
            in warnings[0]
    # In training, skip_broken has no effect: broken videos are replaced.
    assert len(_build(ann, video_files,
                      skip_broken=True)) == len(good) + len(broken)


# -------------------------------------------------------------- annotations
def test_missing_annotation_file_is_named(tmp_path, video_files):
    missing = str(tmp_path / 'nowhere.txt')
    with pytest.raises(
            FileNotFoundError, match=f'Annotation file not found: {missing}'):
        _build(missing, video_files)


def test_annotation_file_that_is_a_folder_is_named_so(tmp_path, video_files):
    """A folder where the list should be (``train.txt/``) was reported as
    ``Annotation file not found``, though the path is there."""
    folder = tmp_path / 'train.txt'
    folder.mkdir()
    with pytest.raises(FileNotFoundError) as info:
        _build(str(folder), video_files)
    assert str(info.value) == (
        f'Annotation file {folder} is a folder, not a file: give the path '
        'of the file itself')


@pytest.mark.parametrize(
    'line, error',
    [('good_1.mp4', "the line 'good_1.mp4' has no label: CheckedVideoDataset "
      "needs '<path> <label>' on every line."),
     ('good_1.mp4 1 2', "the line 'good_1.mp4 1 2' has 2 labels (1, 2), "
      'but CheckedVideoDataset reads one label per line'),
     ('good_1.mp4 one', "label 'one' is not a non-negative integer, in "
      "line 'good_1.mp4 one'"),
     ('good_1.mp4 -1', "label '-1' is not a non-negative integer"),
     ('good_1.mp4 2', r'label 2 is outside [0, 2) (num_classes=2), in line '
      "'good_1.mp4 2'")])
def test_bad_line_is_an_error_at_its_line(tmp_path, video_files, line, error):
    ann = write_list(tmp_path / 'train.txt',
                     ['good_0.mp4 0', '', line, 'good_2.mp4 1'])
    with pytest.raises(AnnotationError) as info:
        _build(ann, video_files, num_classes=2)
    assert str(info.value).startswith(f'{ann}:3: ')
    assert error in str(info.value)


def test_labels_are_not_range_checked_without_num_classes(
        tmp_path, video_files):
    ann = write_list(tmp_path / 'train.txt', ['good_0.mp4 7'])
    assert _build(ann, video_files).get_data_info(0)['label'] == 7


def test_empty_annotation_file_is_an_error(tmp_path, video_files):
    ann = write_list(tmp_path / 'train.txt', ['', '  '])
    with pytest.raises(
            AnnotationError,
            match=re.escape(f'{ann}: the annotation file lists '
                            'no videos')):
        _build(ann, video_files)


def test_missing_videos_are_listed_with_their_lines(tmp_path, video_files):
    lines = [f'{n} 0' for n in video_files['good']]
    lines[1:1] = [f'gone_{i}.mp4 1' for i in range(12)]  # lines 2 to 13
    ann = write_list(tmp_path / 'train.txt', lines)
    with pytest.raises(FileNotFoundError) as info:
        _build(ann, video_files, check_files='all')
    message = str(info.value).splitlines()
    assert message[0] == (f"12 of 16 checked videos (check_files='all') of "
                          f'{ann} do not exist:')
    assert message[1:11] == [
        f'  {ann}:{i + 2}: {video_path(video_files, f"gone_{i}.mp4")}'
        for i in range(10)
    ]
    assert message[11] == '  ... and 2 more'
    # A sample of 4 of the 16 lines: seeded, so the same on every rank.
    with pytest.raises(FileNotFoundError) as info:
        _build(ann, video_files, check_sample_size=4)
    first = str(info.value).splitlines()[0]
    assert re.fullmatch(
        r"\d of 4 checked videos \(check_files='sample'\) "
        f'of {re.escape(ann)} do not exist:', first)
    # Not checked: the dataset builds.
    assert len(_build(ann, video_files, check_files=None)) == 16


def test_wrong_video_folder_is_hinted(tmp_path, video_files):
    ann = write_list(tmp_path / 'train.txt', ['good_0.mp4 0'])
    folder = str(tmp_path / 'no_videos')
    with pytest.raises(
            FileNotFoundError,
            match=re.escape(f'The video folder {folder} does not '
                            'exist; check data_prefix.')):
        CheckedVideoDataset(
            ann_file=ann, data_prefix=dict(video=folder), pipeline=_pipeline())


def test_lazy_dataset_is_checked_when_the_runner_builds_the_loader(
        tmp_path, video_files):
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    ann = write_list(tmp_path / 'train.txt', ['good_0.mp4 0', 'good_1.mp4 5'])
    init_default_scope('mmaction')
    dataset = dict(
        type='CheckedVideoDataset',
        ann_file=ann,
        data_prefix=dict(video=video_files['videos']),
        pipeline=_pipeline(),
        num_classes=2,
        lazy_init=True)
    with pytest.raises(AnnotationError, match=re.escape(f'{ann}:2: label 5')):
        Runner.build_dataloader(
            dict(
                dataset=dataset,
                batch_size=1,
                sampler=dict(type='DefaultSampler', shuffle=False)))


def test_bad_arguments_are_named(tmp_path, video_files):
    ann = write_list(tmp_path / 'train.txt', ['good_0.mp4 0'])
    with pytest.raises(ValueError, match="check_files='some'"):
        _build(ann, video_files, check_files='some')


# ------------------------------------------------------------ class names
def test_classes_become_metainfo_from_a_list_or_a_label_map(
        tmp_path, video_files):
    ann = write_list(tmp_path / 'train.txt', ['good_0.mp4 1'])
    dataset = _build(ann, video_files, num_classes=2, classes=['run', 'sit'])
    assert dataset.metainfo['classes'] == ('run', 'sit')
    label_map = tmp_path / 'label_map.txt'
    label_map.write_text('run\nsit\n\n')  # blank lines may end it
    dataset = _build(ann, video_files, classes=str(label_map))
    assert dataset.metainfo['classes'] == ('run', 'sit')
    # mmaction2's VideoDataset has none: no names, as before.
    assert 'classes' not in _build(ann, video_files).metainfo


def test_a_byte_order_mark_is_no_part_of_a_name_or_a_path(
        tmp_path, video_files):
    """Files saved by Windows Notepad start with a UTF-8 BOM: it was the
    first class name's first character, and the first video's path's."""
    bom = '\ufeff'.encode()
    ann = tmp_path / 'train.txt'
    ann.write_bytes(bom + b'good_0.mp4 1\n')
    label_map = tmp_path / 'label_map.txt'
    label_map.write_bytes(bom + b'run\r\nsit\r\n')
    dataset = _build(
        str(ann), video_files, classes=str(label_map), check_files='all')
    assert dataset.metainfo['classes'] == ('run', 'sit')
    assert dataset.get_data_info(0)['filename'] == video_path(
        video_files, 'good_0.mp4')


@pytest.mark.parametrize('classes, text, error', [
    (None, 'run\n\nsit\n', r'label_map.txt, line 2: a blank line'),
    (None, 'run\nrun\n', r"label_map.txt, line 2: 'run' again \(first on "
     r'line 1\)'),
    (None, 'run\n', r'label_map.txt: 1 class names, but num_classes=2'),
    (['run', 3], None, r'train.txt\) \(a list\), entry 2: 3 is a int'),
    (['run'], None, r'\(a list\): 1 class names, but num_classes=2; the '
     r'class of label i must be on entry i \+ 1'),
])
def test_bad_class_names_are_named(tmp_path, video_files, classes, text,
                                   error):
    ann = write_list(tmp_path / 'train.txt', ['good_0.mp4 1'])
    if classes is None:
        classes = tmp_path / 'label_map.txt'
        classes.write_text(text)
        classes = str(classes)
    with pytest.raises(ValueError, match=error):
        _build(ann, video_files, num_classes=2, classes=classes)


def test_missing_label_map_and_classes_twice_are_named(tmp_path, video_files):
    ann = write_list(tmp_path / 'train.txt', ['good_0.mp4 1'])
    missing = tmp_path / 'nowhere_label_map.txt'
    with pytest.raises(
            FileNotFoundError,
            match=rf'^CheckedVideoDataset \({ann}\): label map {missing} '
            r'not found .* set classes=None to train without class names\.$'):
        _build(ann, video_files, classes=str(missing))
    with pytest.raises(ValueError, match=r'classes given twice'):
        _build(
            ann,
            video_files,
            classes=['run', 'sit'],
            metainfo=dict(classes=['run', 'sit']))


# ------------------------------------------------------------ short videos
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
        pipeline = _pipeline('val_pipeline' if test_mode else 'train_pipeline')
        dataset = _build(
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
    dataset = _build(ann, video_files, min_frames=17, short_videos='error')
    with pytest.raises(
            ShortVideoError,
            match=re.escape('has 16 frames, fewer than min_frames=17')):
        dataset[1]


def test_training_skips_short_videos_with_skip(tmp_path, video_files,
                                               log_records):
    ann = _short_list(tmp_path, video_files)
    dataset = _build(ann, video_files, short_videos='skip')
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
        _build(ann, video_files, short_videos='skip', max_refetch=2)[0]


def test_test_mode_drops_short_videos_up_front_with_skip(
        tmp_path, video_files, log_records):
    ann = _short_list(tmp_path, video_files, 'val')
    dataset = _build(
        ann,
        video_files,
        pipeline=_pipeline('val_pipeline'),
        test_mode=True,
        short_videos='skip')
    assert len(dataset) == len(video_files['good'])
    warnings = _warnings(log_records)
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
        _build(ann, video_files, **kwargs)


def test_skip_broken_scan_shows_progress_on_a_terminal(tmp_path, video_files,
                                                       monkeypatch):
    import sys

    from mmadaptformer.testing.terminal import pseudo_terminal
    monkeypatch.delenv('CI', raising=False)
    ann = write_list(tmp_path / 'val.txt',
                     [f'{n} 0' for n in video_files['good']])
    with pseudo_terminal() as (tty, read):
        monkeypatch.setattr(sys, 'stderr', tty)
        _build(
            ann,
            video_files,
            pipeline=_pipeline('val_pipeline'),
            test_mode=True,
            skip_broken=True)
        out = read()
    assert f'Scanning the videos of {ann}' in out
    assert '4/4' in out and 'ETA' in out


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
                pipeline=_pipeline(),
                short_videos='error'),
            batch_size=1,
            num_workers=1,
            sampler=dict(type='DefaultSampler', shuffle=False)))
    path = video_path(video_files, video_files['short'])
    with pytest.raises(
            ShortVideoError,
            match=re.escape(f'{path} ({ann}:1) has 1 frames, fewer than')):
        next(iter(loader))


def test_test_mode_names_a_transform_that_fails_after_the_read(
        tmp_path, video_files):
    """A crop the resized frames do not fit is the pipeline's mistake, not
    the file's: no advice to replace the video."""
    ann = write_list(tmp_path / 'val.txt', [f'{video_files["good"][0]} 0'])
    pipeline = _pipeline('test_pipeline')
    pipeline[3] = dict(type='Resize', scale=(-1, 64))
    dataset = _build(ann, video_files, pipeline=pipeline, test_mode=True)
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
