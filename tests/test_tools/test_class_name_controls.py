# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Class names that hold a terminal's control sequences, from someone
else's checkpoint or label map, are shown escaped: ``tools/infer.py``
printed them raw, so a checkpoint whose ``meta['dataset_meta']['classes']``
held ``ESC [2J`` cleared the screen of whoever classified with it (and
``ESC ]52;c;...`` wrote their clipboard), instead of showing the name."""
import json
import logging
import os.path as osp

import pytest
import torch

CLASSES = ['\x1b[2J\x1b[Hcat', 'dog\x1b]52;c;ZWNobyBwd25lZA==\x07']
SHOWN = ['\\x1b[2J\\x1b[Hcat', 'dog\\x1b]52;c;ZWNobyBwd25lZA==\\x07']


@pytest.fixture(scope='module')
def escapes(stock_video_model, tmp_path_factory):
    """The stock checkpoint with control sequences in its class names."""
    checkpoint = torch.load(stock_video_model['checkpoint'], weights_only=True)
    checkpoint.setdefault('meta', {})['dataset_meta'] = dict(classes=CLASSES)
    path = str(tmp_path_factory.mktemp('controls') / 'escapes.pth')
    torch.save(checkpoint, path)
    return path


def test_infer_shows_the_names_escaped(infer, stock_video_model, escapes,
                                       tiny_video_data, tmp_path, capsys,
                                       clean_loggers):
    video = osp.join(tiny_video_data['videos'], 'val_0_0.mp4')
    out = tmp_path / 'r.json'
    code = infer(
        [stock_video_model['config'], escapes, video, '--out',
         str(out)])
    assert code == 0
    captured = capsys.readouterr()
    assert '\x1b' not in captured.out and '\x07' not in captured.out
    line = captured.out.strip().splitlines()[-1]
    assert line.startswith(f'{video}: tiny: ')
    assert set(n for n, _ in (
        p.rsplit(' (', 1)
        for p in line.split(': tiny: ')[1].split(', '))) == set(SHOWN)
    # The JSON names the class as the line does.
    answer = json.loads(out.read_text())[video]['tiny']
    assert answer['class'] == SHOWN[answer['label']]
    assert "the checkpoint's meta['dataset_meta']['classes']: 2 of the 2 " \
        'class names hold control characters' in captured.err
    assert '\x1b' not in captured.err


def test_a_label_map_is_escaped_too(infer, stock_video_model, tiny_video_data,
                                    tmp_path, capsys, clean_loggers):
    label_map = tmp_path / 'labels.txt'
    label_map.write_text('plain\nred\x1b[31m\n')
    video = osp.join(tiny_video_data['videos'], 'val_0_0.mp4')
    code = infer([
        stock_video_model['config'], stock_video_model['checkpoint'], video,
        '--label-map',
        str(label_map), '--topk', '2'
    ])
    assert code == 0
    out = capsys.readouterr().out
    assert '\x1b' not in out
    assert 'red\\x1b[31m (' in out and 'plain (' in out


def test_escape_controls_keeps_other_text(caplog):
    """Kept behaviour: names without control characters (accents, CJK,
    emoji, spaces) are returned as they are, without a warning."""
    from mmadaptformer.utils.control_characters import (escape_controls,
                                                        escaped_names)
    names = ['café au lait', '日本 刀', 'rock 🎸', "it's \\x1b"]
    with caplog.at_level(logging.WARNING):
        assert escaped_names(names, 'a label map') == names
    assert not caplog.records
    assert escape_controls('\u202eevil\x7f\x9b') == \
        '\\u202eevil\\x7f\\x9b'


def test_checkpoint_keys_in_an_error_are_escaped(infer, stock_video_model,
                                                 tiny_video_data, tmp_path,
                                                 capsys, clean_loggers):
    """The key lists of a checkpoint that does not fit (every refusal
    that lists keys) show a key's control characters escaped."""
    checkpoint = torch.load(stock_video_model['checkpoint'], weights_only=True)
    checkpoint['state_dict']['\x1b[2J\x1b]0;owned\x07evil'] = torch.zeros(1)
    path = str(tmp_path / 'key.pth')
    torch.save(checkpoint, path)
    video = osp.join(tiny_video_data['videos'], 'val_0_0.mp4')
    code = infer([stock_video_model['config'], path, video])
    assert code == 1
    captured = capsys.readouterr()
    assert '\x1b' not in captured.out + captured.err
    assert '1 unexpected keys (in the checkpoint, not in the model): ' \
        '\\x1b[2J\\x1b]0;owned\\x07evil' in captured.err
