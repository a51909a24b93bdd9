# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A label map that is not UTF-8 text (saved in Latin-1 or a Windows code
page: ``caf\\xe9``) is named, with its line and byte, by the one reader
every path shares (:func:`~mmadaptformer.datasets.label_map.
read_label_map`).

Before, the reader's ``UnicodeDecodeError`` went out as it was: it named no
file, only a position in the decoder's buffer. ``tools/infer.py
--label-map FILE`` then said ``model NAME: ERROR CHECKPOINT:
UnicodeDecodeError: ...`` (the checkpoint, not the file given) with exit
status 1 instead of refusing the label map (exit status 2), and a config
whose test set names such a label map (``classes=FILE``) could not be
loaded at all, where a label map that cannot be used only leaves the
labels unnamed, with a warning."""
import logging

import pytest
from adapter_tasks import val_videos
from checkpoint_makers import save_as_built_checkpoint
from config_writers import write_config
from repo_paths import TINY_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.apis import ModelInferencer
from mmadaptformer.datasets.label_map import LabelMapError

_LATIN1 = 'horizontal\ncaf\xe9\n'.encode('latin-1')


def _message(path):
    return (f'{path}, line 2: not UTF-8 text (byte 4 of the line is 0xe9, '
            'as Latin-1 or a Windows code page writes an accented letter); '
            'save the label map as UTF-8, the class of label i on line '
            'i + 1.')


@pytest.fixture(scope='module')
def stock_model(tmp_path_factory):
    root = tmp_path_factory.mktemp('label_map_encoding')
    checkpoint = save_as_built_checkpoint(TINY_VIDEO_CONFIG, root / 'full.pth')
    label_map = root / 'latin1.txt'
    label_map.write_bytes(_LATIN1)
    return dict(root=root, checkpoint=checkpoint, label_map=str(label_map))


def test_a_label_map_argument_not_utf8_is_named(stock_model):
    with pytest.raises(LabelMapError) as info:
        ModelInferencer(
            TINY_VIDEO_CONFIG,
            stock_model['checkpoint'],
            label_map=stock_model['label_map'])
    assert str(info.value) == _message(stock_model['label_map'])


def test_infer_refuses_a_label_map_not_utf8(stock_model, tiny_video_data):
    video, = val_videos(tiny_video_data, 1)
    proc = run_tool([
        'infer.py', TINY_VIDEO_CONFIG, stock_model['checkpoint'], video,
        '--label-map', stock_model['label_map']
    ],
                    cwd=str(stock_model['root']),
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ''
    assert proc.stderr.splitlines()[-1] == (
        f'infer.py: error: --label-map {_message(stock_model["label_map"])}')


def test_a_config_label_map_not_utf8_leaves_the_labels_unnamed(
        stock_model, tiny_video_data, log_records):
    config = write_config(
        stock_model['root'] / 'named.py', TINY_VIDEO_CONFIG,
        f'test_dataloader = dict(dataset=dict(classes='
        f'{stock_model["label_map"]!r}))\n')
    engine = ModelInferencer(config, stock_model['checkpoint'])
    assert engine.classes is None
    video, = val_videos(tiny_video_data, 1)
    answer = engine([video])[video]['named']
    assert answer['class'] is None and len(answer['scores']) == 2
    warnings = [
        r.getMessage() for r in log_records if r.levelno == logging.WARNING
        and _message(stock_model['label_map']) in r.getMessage()
    ]
    assert len(warnings) == 1, [r.getMessage() for r in log_records]


def test_the_byte_is_counted_from_the_line_start_after_a_bom(tmp_path):
    """A first line after a byte order mark (utf-8-sig, which the reader
    takes): the byte named is the line's, the mark counted (it named
    byte 4, 0x63, the 'c' 3 bytes before the byte that fails)."""
    from mmadaptformer.datasets.label_map import read_label_map
    path = tmp_path / 'bom.txt'
    path.write_bytes(b'\xef\xbb\xbfcaf\xe9\nhorizontal\n')
    with pytest.raises(LabelMapError) as e:
        read_label_map(str(path))
    assert str(e.value).startswith(
        f'{path}, line 1: not UTF-8 text (byte 7 of the line is 0xe9, ')
