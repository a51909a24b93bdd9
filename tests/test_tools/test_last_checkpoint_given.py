# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMEngine's ``last_checkpoint`` given as CHECKPOINT to tools/infer.py or
tools/test.py (or as --pretrained): it is the one-line record of the
newest checkpoint's path that ``CheckpointHook`` writes, and it was refused
as a checkpoint that "is truncated or corrupted". It is now named as that
record, with the checkpoint it names, before anything is built; that
checkpoint is not loaded in its place."""
import os
import os.path as osp

import pytest
from tool_runners import run_tool

from mmadaptformer.utils.checkpoint_formats import (last_checkpoint_record,
                                                    text_format)

RECORD = "MMEngine's last_checkpoint record, not a checkpoint"


@pytest.fixture
def trained(last_checkpoint_run):
    """A real training run's work dir with its ``last_checkpoint``
    record beside ``epoch_1.pth`` and ``epoch_2.pth``."""
    return last_checkpoint_run


@pytest.mark.parametrize('tool', ['infer.py', 'test.py'])
@pytest.mark.parametrize('place', ['checkpoint', '--pretrained'])
def test_the_tools_name_the_record_before_building(trained, tmp_path, tool,
                                                   place):
    """Refused as a usage error (exit status 2), as a video or a config in
    the checkpoint's place is, before the model or the runner is built: it
    was refused only after both, with a new timestamped log folder in the
    work dir and exit status 1. Nothing is written in the working
    folder."""
    checkpoint, pretrained = trained['record'], []
    if place == '--pretrained':
        checkpoint = trained['named']
        pretrained = ['--pretrained', trained['record']]
    args = [tool, trained['config'], checkpoint]
    if tool == 'infer.py':
        args.append(trained['image'])
    proc = run_tool(args + pretrained, cwd=tmp_path, check=False)
    assert proc.returncode == 2, proc.stdout
    last = proc.stdout.strip().splitlines()[-1]
    assert last.endswith(
        f'{place} {trained["record"]}: it is {RECORD}: a line of text that '
        'training writes to name the newest checkpoint it saved, '
        f'{trained["named"]}. Give that file (or another checkpoint of the '
        'run) as the checkpoint'), last
    assert 'truncated or corrupted' not in proc.stdout
    # Refused before the model was built: no log, no work dir.
    assert 'Distributed training' not in proc.stdout
    assert os.listdir(tmp_path) == []
    if tool == 'infer.py':
        # The named file was not loaded in its place: nothing classified.
        answers = proc.stdout.replace(trained['image'], '')
        assert 'horizontal' not in answers and 'vertical' not in answers


def test_a_record_of_a_checkpoint_gone_says_so(tmp_path):
    record = tmp_path / 'last_checkpoint'
    gone = str(tmp_path / 'epoch_3.pth')
    record.write_text(gone)
    assert text_format(str(record)) == (
        f'{RECORD}: a line of text that training writes to name the newest '
        f'checkpoint it saved, {gone}, which is not there. Give a '
        'checkpoint of the run (e.g. epoch_N.pth in its work dir) as the '
        'checkpoint')


def test_a_relative_record_is_found_beside_it(tmp_path, monkeypatch):
    """A record written as ``epoch_2.pth`` (a work dir given relative)
    names the file beside it when the current folder has none."""
    (tmp_path / 'work').mkdir()
    (tmp_path / 'work' / 'epoch_2.pth').write_bytes(b'x')
    (tmp_path / 'work' / 'copy').write_text('epoch_2.pth\n')
    monkeypatch.chdir(tmp_path)
    assert last_checkpoint_record(osp.join('work', 'copy')).endswith(
        f'saved, {osp.join("work", "epoch_2.pth")}. Give that file (or '
        'another checkpoint of the run) as the checkpoint')


@pytest.mark.parametrize('text', ['hello', 'a\nb.pth', 'epoch_2.pth\n' * 2])
def test_other_text_is_no_record(tmp_path, text):
    """Guard of kept behaviour: other text is left to the damage message
    (a line that names no file, two lines)."""
    path = tmp_path / 'notes.txt'
    path.write_text(text)
    assert last_checkpoint_record(str(path)) is None
    assert text_format(str(path)) is None
