# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The dataset tools refuse an OUT_DIR they cannot write into before they
read anything: a file, or a path under a file.

Before, each one read and checked its inputs and then ended with a
``FileExistsError`` (lists) or ``NotADirectoryError`` (SVHN's images)
traceback, exit status 1.
"""
import json

import numpy as np
import pytest
from scipy.io import savemat
from tool_runners import run_tool

from mmadaptformer.utils.output_folder import output_folder_problem


def _ssv2(root):
    ann = root / 'ann'
    ann.mkdir()
    (ann / 'something-something-v2-labels.json').write_text(
        json.dumps({'Holding something': '0'}))
    entry = [{'id': '1', 'template': 'Holding [something]'}]
    (ann / 'something-something-v2-train.json').write_text(json.dumps(entry))
    entry = [{'id': '2', 'template': 'Holding [something]'}]
    (ann / 'something-something-v2-validation.json').write_text(
        json.dumps(entry))
    return ['data/ssv2/build_file_list.py', str(ann)], ['--num-classes', '1']


def _hmdb51(root):
    splits = root / 'splits'
    splits.mkdir()
    for k in (1, 2, 3):
        (splits / f'wave_test_split{k}.txt').write_text('a.avi 1 \nb.avi 2 \n')
    return ['data/hmdb51/build_file_list.py', str(splits)], \
        ['--num-classes', '1']


def _food101(root):
    food = root / 'food-101'
    (food / 'meta').mkdir(parents=True)
    (food / 'meta' / 'classes.txt').write_text('ramen\n')
    (food / 'meta' / 'train.txt').write_text('ramen/1\n')
    (food / 'meta' / 'test.txt').write_text('ramen/2\n')
    return ['data/food101/build_file_list.py', str(food)], \
        ['--num-classes', '1']


def _svhn(root):
    mats = root / 'raw'
    mats.mkdir()
    for split, y in (('train', [10, 1]), ('test', [7])):
        savemat(
            str(mats / f'{split}_32x32.mat'), {
                'X': np.zeros((32, 32, 3, len(y)), np.uint8),
                'y': np.array(y, np.uint8)[:, None]
            })
    return ['data/svhn/convert_svhn.py', str(mats)], []


TOOLS = dict(ssv2=_ssv2, hmdb51=_hmdb51, food101=_food101, svhn=_svhn)


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_an_out_dir_that_is_a_file_is_refused(tool, tmp_path):
    args, options = TOOLS[tool](tmp_path)
    taken = tmp_path / 'notes.txt'
    taken.write_text('mine\n')
    for out, message in (
        (taken, f'OUT_DIR {taken}: it is a file; give a folder'),
        (taken / 'lists', f'OUT_DIR {taken / "lists"}: {taken} is a file, '
         'not a folder'),
    ):
        proc = run_tool(args + [str(out)] + options, cwd=tmp_path, check=False)
        assert proc.returncode == 2, proc.stdout
        assert message in proc.stdout
        assert 'Traceback' not in proc.stdout
        assert taken.read_text() == 'mine\n'


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_a_new_out_dir_is_still_made(tool, tmp_path):
    """Guard of kept behaviour: a folder that is not there is made."""
    args, options = TOOLS[tool](tmp_path)
    out = tmp_path / 'new' / 'out'
    proc = run_tool(args + [str(out)] + options, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert any(out.iterdir())


def test_output_folder_problem(tmp_path):
    assert output_folder_problem(str(tmp_path), 'OUT_DIR') is None
    assert output_folder_problem(str(tmp_path / 'a' / 'b'), 'OUT_DIR') is None
    (tmp_path / 'f').write_text('')
    assert output_folder_problem(str(tmp_path / 'f'), 'OUT_DIR') == (
        f'OUT_DIR {tmp_path / "f"}: it is a file; give a folder (it is made '
        'if it is not there).')
    assert output_folder_problem(str(tmp_path / 'f' / 'x'), 'D') == (
        f'D {tmp_path / "f" / "x"}: {tmp_path / "f"} is a file, not a '
        'folder; give a folder.')


#: The first list each tool writes into OUT_DIR.
FIRST_LIST = dict(
    ssv2='sthv2_train_list_videos.txt',
    hmdb51='hmdb51_train_split_1_videos.txt',
    food101='train.txt',
    svhn='meta/train.txt')


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_a_failed_write_is_one_line(tool, tmp_path):
    """A list that cannot be written (a folder where it goes) ends the tool
    with one line naming it, exit status 1, as the README's rule says of a
    failed write: it ended with an ``IsADirectoryError`` traceback."""
    args, options = TOOLS[tool](tmp_path)
    out = tmp_path / 'out'
    (out / FIRST_LIST[tool]).mkdir(parents=True)
    proc = run_tool(args + [str(out)] + options, cwd=tmp_path, check=False)
    assert proc.returncode == 1, proc.stdout
    assert 'Traceback' not in proc.stdout
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith('error: ') and FIRST_LIST[tool] in last, last


@pytest.mark.parametrize('tool', ['ssv2', 'hmdb51'])
def test_a_missing_video_dir_is_a_usage_error(tool, tmp_path):
    """``--check-videos --video-dir DIR`` that is not there: a mistake of
    the command line, exit status 2 before anything is read or written (it
    was found after the annotations were read: ``error: Video folder not
    found: DIR``, exit status 1)."""
    args, options = TOOLS[tool](tmp_path)
    out = tmp_path / 'out'
    nope = tmp_path / 'nope'
    proc = run_tool(
        args + [str(out)] + options +
        ['--check-videos', '--video-dir',
         str(nope)],
        cwd=tmp_path,
        check=False)
    assert proc.returncode == 2, proc.stdout
    assert f'error: --video-dir {nope}: no such folder' in proc.stdout
    assert not out.exists()


def test_a_missing_json_the_command_line_names_is_a_usage_error(tmp_path):
    """``ssv2/build_file_list.py ANN_DIR OUT_DIR --train-json typo.json``:
    exit status 2 before anything is read (it was found while reading,
    exit status 1); a default JSON missing from ANN_DIR stays 1."""
    args, options = _ssv2(tmp_path)
    out = tmp_path / 'out'
    proc = run_tool(
        args + [str(out)] + options + ['--train-json', 'typo.json'],
        cwd=tmp_path,
        check=False)
    assert proc.returncode == 2, proc.stdout
    typo = tmp_path / 'ann' / 'typo.json'
    assert f'error: --train-json {typo}: no such file' in proc.stdout
    assert not out.exists()
    # The JSON given is read in the default's place.
    (tmp_path / 'ann' / 'something-something-v2-train.json').rename(typo)
    proc = run_tool(
        args + [str(out)] + options + ['--train-json', 'typo.json'],
        cwd=tmp_path)
    assert (out / 'sthv2_train_list_videos.txt').read_text() == '1.webm 0\n'
