# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The delimiter of a video annotation list, as the datasets read it and as
the tools check its first lines
(:mod:`mmadaptformer.utils.video_ann_file`)."""
import re

import pytest

from mmadaptformer.datasets.annotation_lists import AnnotationError
from mmadaptformer.datasets.video_list import parse_video_list
from mmadaptformer.utils.video_ann_file import malformed_video_list


@pytest.fixture
def videos(tmp_path):
    """A folder of two (empty) video files, one with a space in its
    name."""
    folder = tmp_path / 'videos'
    folder.mkdir()
    for name in ('a.mp4', 'b c.mp4'):
        (folder / name).touch()
    return str(folder)


def _list(tmp_path, text):
    path = tmp_path / 'list.txt'
    path.write_text(text)
    return str(path)


def _lazy(kind, ann_file, folder, **kwargs):
    from mmaction.registry import DATASETS
    return DATASETS.build(
        dict(
            type=kind,
            ann_file=ann_file,
            data_prefix=dict(video=folder),
            pipeline=[],
            lazy_init=True,
            **kwargs))


def test_parse_names_the_delimiter_that_splits_a_line(tmp_path, videos):
    ann_file = _list(tmp_path, 'a.mp4,0\nz.mp4 1\n')
    with pytest.raises(AnnotationError) as info:
        parse_video_list(ann_file, videos, delimiter=',')
    assert str(info.value) == (
        f"{ann_file}:2: expected '<path> <label>' separated by ',', got 1 "
        f"fields in line 'z.mp4 1'; split at ' ' it is the path "
        f"{videos}/z.mp4 and label 1: set delimiter=' '")


def test_parse_reads_valid_lists_as_before(tmp_path, videos):
    ann_file = _list(tmp_path, 'a.mp4 , 0\nb c.mp4,1\n')
    assert [(d['filename'], d['label'])
            for d in parse_video_list(ann_file, videos, delimiter=',')
            ] == [(f'{videos}/a.mp4', 0), (f'{videos}/b c.mp4', 1)]
    ann_file = _list(tmp_path, 'a.mp4\t0 1\n')
    assert parse_video_list(
        ann_file, None, multi_class=True)[0]['label'] == [0, 1]


@pytest.mark.parametrize(
    'kind,delimiter,text,multi_class',
    [
        ('VideoDataset', ',', 'a.mp4,0\nb c.mp4, 1\n', False),
        # mmaction2's lists for inference: a path without a label.
        ('VideoDataset', ',', 'b c.mp4\na.mp4\n', False),
        ('VideoDataset', ' ', 'a.mp4 0 1\n', True),
        ('CheckedVideoDataset', ' ', 'a.mp4 \t 0\n', False),
        ('CheckedVideoDataset', ';', 'b c.mp4 ; 1\n', False),
    ])
def test_lists_the_datasets_read_pass(tmp_path, videos, kind, delimiter, text,
                                      multi_class):
    dataset = _lazy(
        kind,
        _list(tmp_path, text),
        videos,
        delimiter=delimiter,
        multi_class=multi_class)
    assert malformed_video_list(dataset) is None


@pytest.mark.parametrize(
    'kind,delimiter,text,hint,message',
    [
        ('VideoDataset', ',', 'a.mp4 0\n', ' ',
         "line 1 of LIST, 'a.mp4 0', into '<path> <label>' (1 field); split "
         "at ' ' it is the existing video VIDEOS/a.mp4 and label 0"),
        ('VideoDataset', ' ', 'a.mp4,0\n', ',', "split at ',' it is the "
         'existing video VIDEOS/a.mp4 and label 0'),
        # mmaction2 split this at each space: too many values to unpack.
        ('VideoDataset', ' ', 'a.mp4  0\n', None,
         "line 1 of LIST, 'a.mp4  0', into '<path> <label>' (3 fields)"),
        ('VideoDataset', ',', 'a.mp4,cat\n', None, '(2 fields)'),
        ('CheckedVideoDataset', ',', 'b c.mp4\n', None, '(1 field)'),
        ('CheckedVideoDataset', ' ', 'a.mp4;3\n', ';',
         "split at ';' it is the existing video VIDEOS/a.mp4 and label 3"),
    ])
def test_the_first_line_not_read_is_named(tmp_path, videos, kind, delimiter,
                                          text, hint, message):
    ann_file = _list(tmp_path, text)
    bad = malformed_video_list(
        _lazy(kind, ann_file, videos, delimiter=delimiter))
    assert bad.argument == 'delimiter'
    assert bad.delimiter == hint
    what = bad.what
    expected = message.replace('LIST', ann_file).replace('VIDEOS', videos)
    assert expected in what, what
    assert re.search(r'line \d+ of ', what)


def test_every_line_is_read(tmp_path, videos):
    """Only the first 20 lines were read: a line after them that the
    delimiter does not split ended testing in ``FileNotFoundError``."""
    ann_file = _list(tmp_path, 'a.mp4 0\n' * 20 + 'a.mp4,0\n')
    bad = malformed_video_list(_lazy('VideoDataset', ann_file, videos))
    assert 'line 21 of' in bad.what and bad.delimiter == ','


@pytest.mark.parametrize('kind', ['VideoDataset', 'CheckedVideoDataset'])
def test_a_label_outside_num_classes_is_named(tmp_path, videos, kind):
    """A label of 2 with ``num_classes=2`` was read as it was: training
    ended at the first batch holding it, in the loss."""
    ann_file = _list(tmp_path, 'a.mp4 0\n' * 30 + 'a.mp4 2\n')
    bad = malformed_video_list(_lazy(kind, ann_file, videos, num_classes=2))
    assert bad == (
        'ann_file', f"line 31 of {ann_file}, 'a.mp4 2', has the label 2, "
        'outside [0, 2) (num_classes=2); a label is the class\'s index, '
        'from 0', None)
    assert malformed_video_list(_lazy(kind, ann_file, videos)) is None
