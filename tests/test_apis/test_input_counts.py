# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The warnings that count inputs left out or given twice take the
singular for one: they said "left out 1 image files", "1 hidden files or
folders", "1 files were given more than once"."""
import os.path as osp

import pytest

from mmadaptformer.apis import VIDEO_EXTENSIONS, collect_inputs
from mmadaptformer.utils.counted import counted, singular


def _messages(log_records):
    return [r.getMessage() for r in log_records]


@pytest.mark.parametrize('count, expected', [(1, 'file'), (2, 'files')])
def test_one_of_each_left_out_is_counted_in_the_singular(
        count, expected, tmp_path, monkeypatch, log_records):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'clips').mkdir()
    names = ['a.mp4'] + [f'cover{i}.jpg' for i in range(count)] + [
        f'notes{i}.txt' for i in range(count)
    ] + [f'._a{i}.mp4' for i in range(count)]
    for name in names:
        (tmp_path / 'clips' / name).write_bytes(b'')
    assert collect_inputs('clips',
                          VIDEO_EXTENSIONS) == [osp.join('clips', 'a.mp4')]
    hidden = 'hidden file or folder' if count == 1 else \
        'hidden files or folders'
    messages = _messages(log_records)
    assert (f'clips: left out {count} image {expected}, which these models '
            'do not classify, e.g. clips/cover0.jpg.') in messages, messages
    assert (f'clips: left out {count} {expected} whose extension is not one '
            'of a video or an image, e.g. clips/notes0.txt.') in messages
    assert (f"clips: left out {count} {hidden} (names starting with '.'), "
            'e.g. clips/._a0.mp4.') in messages


def test_one_file_given_twice_was_given_in_the_singular(
        tmp_path, monkeypatch, log_records):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'a.mp4').write_bytes(b'')
    assert collect_inputs(['a.mp4', 'a.mp4']) == ['a.mp4']
    assert ('inputs: 1 file was given more than once (e.g. a.mp4); each is '
            'classified once.') in _messages(log_records)


def test_a_frames_folder_of_one_image_holds_1_image_file(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'frames').mkdir()
    (tmp_path / 'frames' / 'img_00001.jpg').write_bytes(b'')
    with pytest.raises(ValueError, match=r'; it holds 1 image file \(e\.g\.'):
        collect_inputs('frames', VIDEO_EXTENSIONS)


@pytest.mark.parametrize('plural, one',
                         [('files', 'file'),
                          ('clip folders or files', 'clip folder or file'),
                          ('hidden files or folders', 'hidden file or folder'),
                          ('inputs', 'input')])
def test_counted_takes_the_singular_for_one(plural, one):
    """Guard of the helper the messages use, on the plurals they pass."""
    assert singular(plural) == one
    assert counted(1, plural) == f'1 {one}'
    assert counted(0, plural) == f'0 {plural}'
    assert counted(2, plural) == f'2 {plural}'
