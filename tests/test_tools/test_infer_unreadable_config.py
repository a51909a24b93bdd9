# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py`` with a config that cannot be read (Python that does
not parse, a ``_base_`` that does not exist). Before, such a config gave
no say in how a folder was read but let it hold both videos and images: a
clip folder of 16 frames became 16 image inputs, each with the same
ConfigError ("Results of 16 inputs")."""
import json
import subprocess
import sys

import pytest
from adapter_tasks import random_task_checkpoints
from test_apis.test_frame_folders import rawframe_config, write_frames

from mmadaptformer.apis.infer_cli import parse_infer_args as parse


@pytest.fixture(scope='module')
def unreadable(tmp_path_factory):
    """A rawframe config and its checkpoint, a copy with a syntax error on
    its line 2, one whose ``_base_`` is missing, and ``clips/``: one clip
    folder of 16 frames and a stray ``cover.jpg`` beside it."""
    root = tmp_path_factory.mktemp('unreadable_config')
    good = rawframe_config(root / 'good.py')
    text = open(good).read()
    bad = root / 'bad.py'
    bad.write_text('# a copy\ndata_root = (\n' + text)
    nobase = root / 'nobase.py'
    nobase.write_text("# a copy\n_base_ = ['./missing_base.py']\n")
    checkpoint, _ = random_task_checkpoints(good, 'mmaction', root, (1, 2))
    clip = root / 'clips' / 'clip0'
    write_frames(clip, range(1, 17))
    write_frames(root / 'clips', [1], template='cover.jpg')
    return dict(
        good=good,
        bad=str(bad),
        nobase=str(nobase),
        checkpoint=checkpoint,
        clips=str(root / 'clips'),
        clip=str(clip))


@pytest.mark.parametrize('which, said', [
    ('bad', "is not valid Python: '(' was never closed (line 2)."),
    ('nobase', 'missing_base.py does not exist (named in {nobase}, line 2).')
])
def test_one_model_config_that_cannot_be_read_is_a_usage_error(
        unreadable, tmp_path, which, said):
    """A real run: exit status 2, one line naming the file and line, before
    anything is loaded, and no --out written. Before: exit 1 and "Results
    of 16 inputs", each with the error."""
    out = tmp_path / 'r.json'
    config = unreadable[which]
    run = subprocess.run([
        sys.executable, 'tools/infer.py', config, unreadable['checkpoint'],
        unreadable['clip'], '--out',
        str(out)
    ],
                         capture_output=True,
                         text=True)
    assert run.returncode == 2, run.stderr
    errors = [line for line in run.stderr.splitlines() if 'error:' in line]
    assert len(errors) == 1, run.stderr
    assert config in errors[0]
    assert said.format(**unreadable) in errors[0]
    assert 'Results of' not in run.stderr
    assert not out.exists()


def test_task_config_that_cannot_be_read_does_not_expand_clips(
        unreadable, infer, tmp_path, capsys, clean_loggers):
    """With --task, the task that cannot be read fails in every input and
    the other answers; the folder is expanded by the rawframe task alone:
    its clip folder is one input, the stray cover.jpg (which no loaded task
    reads) is left out. Before: cover.jpg was an input too, an error for
    both tasks."""
    out = tmp_path / 'r.json'
    status = infer([
        '--task', 'good', unreadable['good'], unreadable['checkpoint'],
        '--task', 'bad', unreadable['bad'], unreadable['checkpoint'],
        unreadable['clips'], '--out',
        str(out)
    ])
    assert status == 1
    results = json.loads(out.read_text())
    assert list(results) == [unreadable['clip']]
    answers = results[unreadable['clip']]
    assert 'scores' in answers['good']
    assert "'(' was never closed (line 2)" in answers['bad']['error']
    err = capsys.readouterr().err
    assert err.count('was never closed') == 1
    assert 'Results of 1 input written' in err


def test_only_task_that_cannot_be_read_keeps_folder_as_one_input(
        unreadable, tmp_path):
    """No task can say what it reads: a folder is one input, which gets the
    task's error, not its 16 frames and cover.jpg as 17 image inputs."""
    args = parse([
        '--task', 'bad', unreadable['bad'], unreadable['checkpoint'],
        unreadable['clip'], unreadable['clips']
    ])
    assert args.files == [unreadable['clip'], unreadable['clips']]
