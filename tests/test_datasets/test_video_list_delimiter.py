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
        # One field, which a space splits into a path and a label: the
        # delimiter is at fault, not a missing label.
        ('CheckedVideoDataset', ',', 'a.mp4 0\n', ' ',
         "line 1 of LIST, 'a.mp4 0', into '<path> <label>' (1 field); split "
         "at ' ' it is the existing video VIDEOS/a.mp4 and label 0"),
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


@pytest.mark.parametrize(
    'kind,delimiter,text,multi_class,message',
    [
        # A space splits 'b c.mp4' but into no path and label: the line
        # lacks its label, whichever delimiter reads it.
        ('CheckedVideoDataset', ',', 'b c.mp4\n', False,
         "line 1 of LIST, 'b c.mp4', has no label: CheckedVideoDataset "
         "needs '<path> <label>' on every line. A list without labels (its "
         "predictions alone) is tested with mmaction2's VideoDataset, which "
         'reads the label -1'),
        ('CheckedVideoDataset', ' ', 'a.mp4 0\na.mp4\n', False,
         "line 2 of LIST, 'a.mp4', has no label"),
        ('CheckedVideoDataset', ' ', 'a.mp4 0\nb.mp4 x\n', False,
         "line 2 of LIST, 'b.mp4 x', has the label 'x': expected a "
         "non-negative integer, the class's index from 0 (a line is "
         "'<path> <label>')"),
        ('CheckedVideoDataset', ' ', 'a.mp4 0 -1\n', True,
         "line 1 of LIST, 'a.mp4 0 -1', has the label '-1': expected a "
         "non-negative integer, the class's index from 0 (a line is "
         "'<path> <label> [<label> ...]')"),
        ('VideoDataset', ',', 'a.mp4,cat\n', False,
         "line 1 of LIST, 'a.mp4,cat', has the label 'cat': expected an "
         'integer'),
    ])
def test_a_line_without_an_integer_label_is_named_as_such(
        tmp_path, videos, kind, delimiter, text, multi_class, message):
    """Such a line was blamed on the delimiter that does not split it
    (``delimiter=' ' ... does not split line 2 ... (2 fields)``), though
    no delimiter would."""
    ann_file = _list(tmp_path, text)
    bad = malformed_video_list(
        _lazy(
            kind,
            ann_file,
            videos,
            delimiter=delimiter,
            multi_class=multi_class))
    assert bad.argument == 'ann_file' and bad.delimiter is None, bad
    expected = message.replace('LIST', ann_file)
    assert bad.what.startswith(expected), bad.what


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


@pytest.mark.parametrize('delimiter,text,fields', [
    (',', 'a.mp4  0\n', 1),
    (',', 'a.mp4 \t 0\n', 1),
    (' ', 'a.mp4  0\n', 3),
])
def test_fields_split_by_runs_of_whitespace_are_named(tmp_path, videos,
                                                      delimiter, text, fields):
    """``VideoDataset`` splits at each single delimiter: under ``','`` the
    line ``'a.mp4  0'`` was a video without a label, the list check passed
    it (no single delimiter reads it) and the run ended in a
    ``FileNotFoundError`` for ``'.../a.mp4  0'``; ``'a.mp4 \\t 0'`` got the
    hint ``'\\t'``, which ``VideoDataset`` would read as the path
    ``'a.mp4 '``."""
    ann_file = _list(tmp_path, text)
    bad = malformed_video_list(
        _lazy('VideoDataset', ann_file, videos, delimiter=delimiter))
    line = text.strip()
    assert bad == (
        'delimiter', f'does not split line 1 of {ann_file}, {line!r}, into '
        f"'<path> <label>' ({fields} field{'s' if fields > 1 else ''}); "
        'split at any run of whitespace it is the existing video '
        f'{videos}/a.mp4 and label 0, but VideoDataset splits at each '
        f'single {delimiter!r}: set delimiter=None (any run of whitespace), '
        f'or write the line {delimiter.join(["a.mp4", "0"])!r}', None)


def _user_subclass(ann_file, folder, delimiter):
    """A lazily built ``VideoDataset`` subclass of a user's own, unregistered
    (the registry is shared by every test)."""
    from mmaction.datasets import VideoDataset

    class MyVideos(VideoDataset):
        pass

    return MyVideos(
        ann_file=ann_file,
        data_prefix=dict(video=folder),
        pipeline=[],
        delimiter=delimiter,
        lazy_init=True)


def test_a_subclass_is_named_as_the_dataset_that_splits(tmp_path, videos):
    """The hints named ``VideoDataset`` for a user's subclass too, a type
    the config does not name; they name the type in use, and what it reads
    as."""
    ann_file = _list(tmp_path, 'a.mp4  0\n')
    bad = malformed_video_list(_user_subclass(ann_file, videos, ','))
    assert bad.what.endswith(
        f'{videos}/a.mp4 and label 0, but MyVideos (a VideoDataset) splits '
        "at each single ',': set delimiter=None (any run of whitespace), or "
        "write the line 'a.mp4,0'"), bad.what
    ann_file = _list(tmp_path, 'a.mp4 ,0\n')
    bad = malformed_video_list(_user_subclass(ann_file, videos, ','))
    assert bad == (
        'ann_file', f"line 1 of {ann_file}, 'a.mp4 ,0', names the video "
        "'a.mp4 ', whitespace included, which does not exist: MyVideos (a "
        "VideoDataset) splits the line at each ',' and keeps the spaces "
        'around the path; remove them (CheckedVideoDataset strips each '
        'field)', None)


def test_checked_video_dataset_hints_a_space_for_runs_of_whitespace(
        tmp_path, videos):
    """``CheckedVideoDataset`` reads ``' '`` as any whitespace: under
    ``','`` the line ``'a.mp4  0'`` was named without the hint ``' '``,
    since a single space left an empty field."""
    ann_file = _list(tmp_path, 'a.mp4,0\na.mp4  0\n')
    bad = malformed_video_list(
        _lazy('CheckedVideoDataset', ann_file, videos, delimiter=','))
    assert bad.delimiter == ' ' and 'line 2 of' in bad.what
    with pytest.raises(AnnotationError, match="set delimiter=' '$"):
        parse_video_list(ann_file, videos, delimiter=',')


def test_a_path_with_spaces_around_it_is_named(tmp_path, videos):
    """``VideoDataset`` keeps the spaces around a path split at ``','``:
    ``'a.mp4 ,0'`` passed the list check and the run ended in a
    ``FileNotFoundError`` for ``'.../a.mp4 '``."""
    ann_file = _list(tmp_path, 'a.mp4,0\na.mp4 ,0\n')
    bad = malformed_video_list(
        _lazy('VideoDataset', ann_file, videos, delimiter=','))
    assert bad == (
        'ann_file', f"line 2 of {ann_file}, 'a.mp4 ,0', names the video "
        "'a.mp4 ', whitespace included, which does not exist: VideoDataset "
        "splits the line at each ',' and keeps the spaces around the path; "
        'remove them (CheckedVideoDataset strips each field)', None)
    (tmp_path / 'videos' / 'a.mp4 ').touch()
    assert malformed_video_list(
        _lazy('VideoDataset', ann_file, videos, delimiter=',')) is None


def test_a_whitespace_delimiter_of_none_reads_the_list(tmp_path, videos):
    """Guard of kept behaviour: ``delimiter=None``, the fix the errors
    above suggest, reads such a list in both datasets."""
    ann_file = _list(tmp_path, 'a.mp4  0\na.mp4 \t 1\n')
    for kind in ('VideoDataset', 'CheckedVideoDataset'):
        assert malformed_video_list(
            _lazy(kind, ann_file, videos, delimiter=None)) is None
    assert [d['label']
            for d in parse_video_list(ann_file, videos, None)] == [0, 1]
