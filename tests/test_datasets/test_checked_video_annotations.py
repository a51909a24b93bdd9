# Copyright (c) mmadaptformer contributors. All rights reserved.
"""CheckedVideoDataset's annotation list, video paths, arguments and class
names: each mistake refused when the dataset is built, naming its file and
line."""
import re

import pytest
from broken_videos import video_path, write_list
from checked_videos import build_checked, tiny_pipeline

from mmadaptformer.datasets import AnnotationError, CheckedVideoDataset


def test_missing_annotation_file_is_named(tmp_path, video_files):
    missing = str(tmp_path / 'nowhere.txt')
    with pytest.raises(
            FileNotFoundError, match=f'Annotation file not found: {missing}'):
        build_checked(missing, video_files)


def test_annotation_file_that_is_a_folder_is_named_so(tmp_path, video_files):
    """A folder where the list should be (``train.txt/``) was reported as
    ``Annotation file not found``, though the path is there."""
    folder = tmp_path / 'train.txt'
    folder.mkdir()
    with pytest.raises(FileNotFoundError) as info:
        build_checked(str(folder), video_files)
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
        build_checked(ann, video_files, num_classes=2)
    assert str(info.value).startswith(f'{ann}:3: ')
    assert error in str(info.value)


def test_labels_are_not_range_checked_without_num_classes(
        tmp_path, video_files):
    ann = write_list(tmp_path / 'train.txt', ['good_0.mp4 7'])
    assert build_checked(ann, video_files).get_data_info(0)['label'] == 7


def test_empty_annotation_file_is_an_error(tmp_path, video_files):
    ann = write_list(tmp_path / 'train.txt', ['', '  '])
    with pytest.raises(
            AnnotationError,
            match=re.escape(f'{ann}: the annotation file lists '
                            'no videos')):
        build_checked(ann, video_files)


def test_missing_videos_are_listed_with_their_lines(tmp_path, video_files):
    lines = [f'{n} 0' for n in video_files['good']]
    lines[1:1] = [f'gone_{i}.mp4 1' for i in range(12)]  # lines 2 to 13
    ann = write_list(tmp_path / 'train.txt', lines)
    with pytest.raises(FileNotFoundError) as info:
        build_checked(ann, video_files, check_files='all')
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
        build_checked(ann, video_files, check_sample_size=4)
    first = str(info.value).splitlines()[0]
    assert re.fullmatch(
        r"\d of 4 checked videos \(check_files='sample'\) "
        f'of {re.escape(ann)} do not exist:', first)
    # Not checked: the dataset builds.
    assert len(build_checked(ann, video_files, check_files=None)) == 16


def test_wrong_video_folder_is_hinted(tmp_path, video_files):
    ann = write_list(tmp_path / 'train.txt', ['good_0.mp4 0'])
    folder = str(tmp_path / 'no_videos')
    with pytest.raises(
            FileNotFoundError,
            match=re.escape(f'The video folder {folder} does not '
                            'exist; check data_prefix.')):
        CheckedVideoDataset(
            ann_file=ann,
            data_prefix=dict(video=folder),
            pipeline=tiny_pipeline())


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
        pipeline=tiny_pipeline(),
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
        build_checked(ann, video_files, check_files='some')


def test_classes_become_metainfo_from_a_list_or_a_label_map(
        tmp_path, video_files):
    ann = write_list(tmp_path / 'train.txt', ['good_0.mp4 1'])
    dataset = build_checked(
        ann, video_files, num_classes=2, classes=['run', 'sit'])
    assert dataset.metainfo['classes'] == ('run', 'sit')
    label_map = tmp_path / 'label_map.txt'
    label_map.write_text('run\nsit\n\n')  # blank lines may end it
    dataset = build_checked(ann, video_files, classes=str(label_map))
    assert dataset.metainfo['classes'] == ('run', 'sit')
    # mmaction2's VideoDataset has none: no names, as before.
    assert 'classes' not in build_checked(ann, video_files).metainfo


def test_a_byte_order_mark_is_no_part_of_a_name_or_a_path(
        tmp_path, video_files):
    """Files saved by Windows Notepad start with a UTF-8 BOM: it was the
    first class name's first character, and the first video's path's."""
    bom = '\ufeff'.encode()
    ann = tmp_path / 'train.txt'
    ann.write_bytes(bom + b'good_0.mp4 1\n')
    label_map = tmp_path / 'label_map.txt'
    label_map.write_bytes(bom + b'run\r\nsit\r\n')
    dataset = build_checked(
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
        build_checked(ann, video_files, num_classes=2, classes=classes)


def test_missing_label_map_and_classes_twice_are_named(tmp_path, video_files):
    ann = write_list(tmp_path / 'train.txt', ['good_0.mp4 1'])
    missing = tmp_path / 'nowhere_label_map.txt'
    with pytest.raises(
            FileNotFoundError,
            match=rf'^CheckedVideoDataset \({ann}\): label map {missing} '
            r'not found .* set classes=None to train without class names\.$'):
        build_checked(ann, video_files, classes=str(missing))
    with pytest.raises(ValueError, match=r'classes given twice'):
        build_checked(
            ann,
            video_files,
            classes=['run', 'sit'],
            metainfo=dict(classes=['run', 'sit']))
