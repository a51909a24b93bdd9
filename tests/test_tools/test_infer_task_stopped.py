# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py --task`` stopped by Ctrl-C keeps the results of the
inputs every task answered, as a run of one model does, and ends with one
line that says so, and 130.

Before, the multi-task engine kept nothing for a stop: a long ``--task``
run stopped after thousands of inputs printed and wrote none of them.
"""
import json
import os
import re
import signal

import pytest
from adapter_tasks import random_task_checkpoints
from media_files import write_clip
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from stopped_infer import INPUTS, linked_inputs, stopped_infer


@pytest.fixture(scope='module')
def long_task_run(tmp_path_factory):
    """Two tasks on one backbone and a folder of
    :data:`~stopped_infer.INPUTS` inputs
    (:func:`~stopped_infer.linked_inputs`)."""
    root = tmp_path_factory.mktemp('long_task_run')
    first, second = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG,
                                            'mmaction', root)
    return first, second, linked_inputs(root)


def test_a_stopped_task_run_keeps_what_it_classified(long_task_run, tmp_path):
    """Ctrl-C 3 s after the first input is read (the test pipeline's first
    read logs MMEngine's FileClient warning): the inputs answered before
    it are printed, one line per task, and written beside --out, every
    task's answers in the --task order; the --out file of an earlier run is
    left as it was; the last line names both; exit status 130. Before, the
    answers so far replaced the earlier run's results."""
    first, second, videos = long_task_run
    out = tmp_path / 'results' / 'results.json'
    out.parent.mkdir()
    out.write_text('{"from": "an earlier run"}\n')
    partial = out.parent / 'results.partial.json'
    status, stdout, err = stopped_infer([
        '--task', 'b', TINY_ADAPTFORMER_VIDEO_CONFIG, second, '--task', 'a',
        TINY_ADAPTFORMER_VIDEO_CONFIG, first, videos, '--batch-size', '2',
        '--out',
        str(out)
    ], signal.SIGINT, tmp_path)
    lines = stdout.splitlines()
    assert status == 128 + signal.SIGINT, err[-3000:]
    assert 'Traceback' not in err, err[-3000:]
    last = err.strip().splitlines()[-1]
    match = re.fullmatch(
        r'infer\.py: stopped by Ctrl-C \(SIGINT\): the results of the '
        rf'(\d+) of {INPUTS} inputs answered before it were printed and '
        rf'written to {re.escape(str(partial))}; {re.escape(str(out))} was '
        r'not written \(the file of that name from before is left as it '
        r'was\); the other (\d+) were not classified', last)
    assert match, last
    answered = int(match.group(1))
    assert 0 < answered < INPUTS
    # Whole chunks of --batch-size inputs, every task answered for each.
    assert answered % 2 == 0
    assert int(match.group(2)) == INPUTS - answered
    assert out.read_text() == '{"from": "an earlier run"}\n'
    results = json.loads(partial.read_text())
    assert list(results) == sorted(results)
    assert len(results) == answered
    assert all(list(answers) == ['b', 'a'] for answers in results.values())
    assert all(
        set(answer) == {'label', 'class', 'scores'}
        for answers in results.values() for answer in answers.values())
    assert len(lines) == 2 * answered
    assert [line.split(': ')[:2] for line in lines[:2]] == [
        [next(iter(results)), 'b'],
        [next(iter(results)), 'a'],
    ]
    # Written atomically: no temporary file is left beside it.
    names = sorted(os.listdir(out.parent))
    assert names == ['results.json', 'results.partial.json']


@pytest.mark.parametrize('task', [False, True])
def test_a_stop_before_any_answer_keeps_the_earlier_out_file(
        infer, stock_video_model, tmp_path, capsys, clean_loggers, monkeypatch,
        task):
    """Ctrl-C in the first forward: nothing was answered, so nothing is
    written, and the ``--out`` file of an earlier run is left whole. Before,
    the empty answers so far replaced it with ``{}``, and the line said
    that "the results of the 0 of 2 inputs" were written (one model; the
    ``--task`` case guards that it stays so now that the multi-task
    engine gives its answers so far too)."""
    from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C in the first forward

    clip = write_clip(str(tmp_path / 'clip.mp4'), num_frames=12)
    os.symlink(clip, tmp_path / 'link.mp4')
    out = tmp_path / 'r.json'
    out.write_text('{"from": "an earlier run"}\n')
    if task:
        monkeypatch.setattr(MultiTaskRecognizer, '_forward_group', stopped)
        first, = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG,
                                         'mmaction', tmp_path, (1, ))
        model = ['--task', 'a', TINY_ADAPTFORMER_VIDEO_CONFIG, first]
    else:
        monkeypatch.setattr(ModelInferencer, 'predict', stopped)
        model = [stock_video_model['config'], stock_video_model['checkpoint']]
    capsys.readouterr()  # what building the checkpoint logged
    with pytest.raises(SystemExit) as end:
        infer(model + [clip, str(tmp_path / 'link.mp4'), '--out', str(out)])
    assert end.value.code == 128 + signal.SIGINT
    captured = capsys.readouterr()
    assert captured.out == ''
    assert out.read_text() == '{"from": "an earlier run"}\n'
    assert captured.err.strip().splitlines()[-1] == (
        'infer.py: stopped by Ctrl-C (SIGINT): no result was printed or '
        'written (they come once every input is classified); '
        f'{out} was not written (the file of that name from before is left '
        'as it was)')
