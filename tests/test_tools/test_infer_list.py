# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/infer.py --list FILE: the inputs a text file names, one a line,
in its order, as MMAction2's ``clip_feature_extraction.py --video-list``
reads them. A list given as an INPUT was classified, as neither a video
nor an image (exit status 1), and there was no other way to give one."""
import json
import os
import shutil

import pytest
from helpers import (TINY_IMAGE_CONFIG, image_data_cfg, run_tool,
                     save_as_built_checkpoint, write_config)

ERROR = ': error: '  # after the program name, as argparse says it


def _json(argv, cwd):
    """Run infer.py with ``--out -``; its JSON."""
    proc = run_tool(['infer.py', *argv, '--out', '-'],
                    cwd=cwd,
                    separate_stderr=True)
    return json.loads(proc.stdout)


def test_a_list_names_inputs_in_its_order(stock_video_model, tiny_video_data,
                                          tmp_path):
    """Plain paths, relative to the list's folder (not to the working
    directory) or absolute, a name with a space, comments, blank lines
    and annotation lines (``path label``, ``path total_frames label``),
    after the INPUTs. A byte-order mark was the first path's first
    character."""
    videos = tiny_video_data['videos']
    names = sorted(os.listdir(videos))
    lists = tmp_path / 'lists'
    (lists / 'clips').mkdir(parents=True)
    for name in names[:3]:
        shutil.copy(os.path.join(videos, name), lists / 'clips')
    shutil.copy(
        os.path.join(videos, names[3]), lists / 'clips' / 'my clip.mp4')
    # A byte-order mark and CRLF line ends, as Notepad saves UTF-8.
    text = ('# validation videos\n'
            f'clips/{names[2]} 1\n'
            '\n'
            f'  clips/{names[0]} 16 0  \n'
            f'{os.path.join(videos, names[4])}\n'
            'clips/my clip.mp4\n')
    (lists / 'val.txt').write_bytes(
        ('\ufeff' + text.replace('\n', '\r\n')).encode())
    first = os.path.join(videos, names[5])
    results = _json([
        stock_video_model['config'], stock_video_model['checkpoint'], first,
        '--list', 'lists/val.txt'
    ], tmp_path)
    assert list(results) == [
        first, f'lists/clips/{names[2]}', f'lists/clips/{names[0]}',
        os.path.join(videos, names[4]), 'lists/clips/my clip.mp4'
    ]
    for answer in results.values():
        assert len(answer['tiny']['scores']) == 2


def test_annotation_files_with_list_root(tmp_path, tiny_video_data,
                                         tiny_image_data, stock_video_model):
    """MMAction2's ``val.txt`` (``file label``, relative to the videos
    folder) and MMPretrain's ``val.txt`` (``class/file label``, relative
    to the data prefix) read with ``--list-root``."""
    video_names = [line.split()[0] for line in open(tiny_video_data['val'])]
    results = _json([
        stock_video_model['config'], stock_video_model['checkpoint'], '--list',
        tiny_video_data['val'], '--list-root', tiny_video_data['videos']
    ], tmp_path)
    assert list(results) == [
        os.path.join(tiny_video_data['videos'], n) for n in video_names
    ]
    config = write_config(tmp_path / 'stripes.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'image.pth')
    val = os.path.join(tiny_image_data, 'val')
    images = sorted(f'{c}/{n}' for c in os.listdir(val)
                    for n in os.listdir(os.path.join(val, c)))[::-1]
    ann = tmp_path / 'val.txt'
    ann.write_text(''.join(f'{p} {i % 2}\n' for i, p in enumerate(images)))
    results = _json(
        [config, checkpoint, '--list',
         str(ann), '--list-root', val], tmp_path)
    assert list(results) == [os.path.join(val, p) for p in images]
    assert all(r['stripes']['class'] in ('horizontal', 'vertical')
               for r in results.values())


def _refusal(infer, argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        infer(argv)
    assert exit_.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert ERROR in line, line
    return line.partition(ERROR)[2]


def test_a_list_that_cannot_be_used_is_refused_before_loading(
        infer, stock_video_model, tiny_video_data, tmp_path, capsys,
        monkeypatch):
    """Each refusal names the list file, the line and what was expected;
    nothing is loaded or written."""
    monkeypatch.chdir(tmp_path)
    one = [stock_video_model['config'], stock_video_model['checkpoint']]
    video = os.path.join(tiny_video_data['videos'],
                         sorted(os.listdir(tiny_video_data['videos']))[0])
    (tmp_path / 'l.txt').write_text(f'# one\n{video}\nmissing.mp4 3\ngone\n')
    assert _refusal(
        infer, one + ['--list', 'l.txt', '--out', 'r.json'], capsys
    ) == ("--list l.txt, line 3: 'missing.mp4' (its first field) does not "
          'exist; 2 of the 3 paths listed are missing. Relative paths are '
          "resolved against '.' (the list's folder); give --list-root DIR to "
          'resolve them against another folder (the data_prefix of an '
          'annotation file).')
    # An annotation file, relative to its data prefix, without --list-root.
    assert _refusal(
        infer, one + ['--list', tiny_video_data['val']],
        capsys).startswith(f'--list {tiny_video_data["val"]}, line 1: ')
    (tmp_path / 'empty.txt').write_text('# nothing\n\n')
    (tmp_path / 'binary.txt').write_bytes(b'\xff\xfe\x00')
    cases = [
        (['--list', 'empty.txt'], '--list empty.txt: names no path (only '
         'blank lines and # comments); expected one path a line.'),
        (['--list', 'binary.txt'], '--list binary.txt: cannot be read as a '
         'text file of paths, one a line (UnicodeDecodeError: '),
        (['--list', 'nope.txt'], '--list nope.txt: no such file.'),
        (['l.txt'], 'l.txt: a text file among the INPUTs; to classify the '
         'files it lists, give --list l.txt'),
        ([video, '--list-root', '.'], '--list-root is the folder of the '
         'paths of --list; give --list FILE too'),
        (['--list', 'l.txt', '--list-root',
          'nowhere'], '--list-root nowhere: no such folder'),
    ]
    for argv, message in cases:
        assert _refusal(infer, one + argv, capsys).startswith(message), argv
    (tmp_path / 'ok.txt').write_text(f'{video}\n')
    assert _refusal(infer, one + ['--list', 'ok.txt', '--out', 'ok.txt'],
                    capsys).startswith(
                        '--out ok.txt is the same file as the --list ok.txt')
    assert not (tmp_path / 'r.json').exists()
