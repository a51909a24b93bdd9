# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``CheckedVideoDataset`` built from Python (a Runner the user builds,
mmaction2's own ``tools/train.py`` with our configs) names a line without
a label as such.

It said ``expected '<path> <label>' separated by ' ', got 1 fields``, as
if the delimiter were at fault; the tools' check of the config already
said the line has no label.
"""
import pytest

from mmadaptformer.datasets import AnnotationError, CheckedVideoDataset
from mmadaptformer.utils.video_ann_file import malformed_video_list

PIPELINE = [dict(type='DecordInit')]


def _write(tmp_path, lines):
    ann_file = tmp_path / 'list.txt'
    ann_file.write_text(''.join(f'{line}\n' for line in lines))
    return str(ann_file)


def _dataset(ann_file, videos, **kwargs):
    return CheckedVideoDataset(
        ann_file=ann_file,
        data_prefix=dict(video=videos),
        pipeline=PIPELINE,
        **kwargs)


@pytest.mark.parametrize('multi_class,expected', [
    (False, '<path> <label>'),
    (True, '<path> <label> [<label> ...]'),
])
def test_a_line_without_a_label_is_named(tmp_path, tiny_video_data,
                                         multi_class, expected):
    ann_file = _write(tmp_path, ['val_0_0.mp4 0', '', 'val_0_1.mp4'])
    with pytest.raises(AnnotationError) as info:
        _dataset(
            ann_file,
            tiny_video_data['videos'],
            multi_class=multi_class,
            num_classes=2)
    assert str(info.value) == (
        f"{ann_file}:3: the line 'val_0_1.mp4' has no label: "
        f'CheckedVideoDataset needs {expected!r} on every line. A list '
        "without labels (its predictions alone) is tested with mmaction2's "
        'VideoDataset, which reads the label -1.')


def test_the_tools_check_says_it_alike(tmp_path, tiny_video_data):
    """The config check of the tools (on the lazily built dataset) and the
    dataset say the same of the line."""
    ann_file = _write(tmp_path, ['val_0_0.mp4 0', 'val_0_1.mp4'])
    with pytest.raises(AnnotationError) as info:
        _dataset(ann_file, tiny_video_data['videos'])
    problem = malformed_video_list(
        _dataset(ann_file, tiny_video_data['videos'], lazy_init=True))
    assert problem.argument == 'ann_file'
    said = problem.what.split(' has no label: ')
    assert said[0] == f"line 2 of {ann_file}, 'val_0_1.mp4',"
    assert str(info.value) == (f"{ann_file}:2: the line 'val_0_1.mp4' has no "
                               f'label: {said[1]}.')


def test_a_line_another_delimiter_splits_names_it(tmp_path, tiny_video_data):
    """Guard of kept behaviour: a line of one field that another delimiter
    splits into a path and a label blames the delimiter."""
    ann_file = _write(tmp_path, ['val_0_0.mp4 0', 'val_0_1.mp4,1'])
    with pytest.raises(AnnotationError) as info:
        _dataset(ann_file, tiny_video_data['videos'])
    message = str(info.value)
    assert message.startswith(
        f"{ann_file}:2: expected '<path> <label>' separated by ' ', got 1 "
        "fields in line 'val_0_1.mp4,1'; split at ',' it is the existing "
        'video '), message
    assert message.endswith("set delimiter=','"), message
