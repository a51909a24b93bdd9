# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py`` stopped by Ctrl-C or SIGTERM keeps the results of
the inputs it classified and ends with one line that says what it leaves,
and 128 + the signal.

A long run (a folder of thousands of videos) stopped with Ctrl-C ended with
a traceback of what it was running (a softmax in mmaction2's head) and
exit status -2, and did not say that nothing had been printed or written,
nor that an ``--out`` file of an earlier run was still whole; the results
of the inputs classified before the stop were lost.
"""
import json
import os
import re
import signal

import pytest
from checkpoint_makers import save_stock_video_checkpoint
from media_files import write_clip
from repo_paths import TINY_VIDEO_CONFIG
from stopped_infer import INPUTS, linked_inputs, stopped_infer

from mmadaptformer.apis.infer_stop import InferStage, partial_results_path


@pytest.fixture(scope='module')
def long_run(tmp_path_factory):
    """A checkpoint and a folder of :data:`~stopped_infer.INPUTS` inputs
    (:func:`~stopped_infer.linked_inputs`)."""
    root = tmp_path_factory.mktemp('long_run')
    checkpoint = str(root / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    return checkpoint, linked_inputs(root)


def _stopped_run(long_run, out, signum, tmp_path):
    """The run of ``long_run`` with ``--out out``, stopped by ``signum``
    (:func:`~stopped_infer.stopped_infer`)."""
    checkpoint, videos = long_run
    return stopped_infer([TINY_VIDEO_CONFIG, checkpoint, videos, '--out', out],
                         signum, tmp_path)


@pytest.mark.parametrize('signum, cause', [
    (signal.SIGINT, 'Ctrl-C (SIGINT)'),
    (signal.SIGTERM, 'SIGTERM'),
])
def test_a_stopped_run_keeps_what_it_classified(long_run, tmp_path, signum,
                                                cause):
    """The inputs classified before the stop are printed and written (the
    answers so far come with the stop from ModelInferencer), beside the
    ``--out`` file, whose complete results of an earlier run are left as
    they were; the run ends with one line that names both, and 128 + the
    signal. Before, the answers so far replaced the earlier file, and a
    script reading it could not tell them from a whole run's."""
    out = tmp_path / 'results' / 'results.json'
    out.parent.mkdir()
    out.write_text('{"from": "an earlier run"}\n')
    status, stdout, err = _stopped_run(long_run, str(out), signum, tmp_path)
    assert status == 128 + signum, err[-3000:]
    assert 'Traceback' not in err, err[-3000:]
    last = err.strip().splitlines()[-1]
    partial = out.parent / 'results.partial.json'
    match = re.fullmatch(
        rf'infer\.py: stopped by {re.escape(cause)}: the results of the '
        rf'(\d+) of {INPUTS} inputs answered before it were printed and '
        rf'written to {re.escape(str(partial))}; {re.escape(str(out))} was '
        r'not written \(the file of that name from before is left as it '
        r'was\); the other (\d+) were not classified', last)
    assert match, last
    answered = int(match.group(1))
    assert 0 < answered < INPUTS
    assert int(match.group(2)) == INPUTS - answered
    assert out.read_text() == '{"from": "an earlier run"}\n'
    results = json.loads(partial.read_text())
    assert len(results) == answered
    lines = stdout.splitlines()
    assert len(lines) == answered
    # In the inputs' order, each with its scores, as a whole run's.
    assert list(results) == sorted(results)
    assert [line.split(': ')[0] for line in lines] == list(results)
    assert all(
        set(answer) == {'tiny_vit_video'} for answer in results.values())
    # Written atomically: no temporary file is left beside it.
    names = sorted(os.listdir(out.parent))
    assert names == ['results.json', 'results.partial.json']


def test_what_each_stage_leaves():
    """What the line says at each stage; without the answers so far (a
    stop while the models load), nothing is kept."""
    stage = InferStage()
    assert stage.left().startswith('no result was printed or written')
    stage.start('r.json', 'vis')
    stage.reach('writing')
    assert stage.left() == 'the results were printed; r.json was not written'
    stage.reach('written')
    assert stage.left() == 'the results were printed and written to r.json'
    # Written before drawing: a long drawing stopped keeps the results.
    stage.reach('drawing')
    assert stage.left() == ('the results were printed and written to '
                            'r.json; the drawings in vis were cut short')
    stage.start('-', None)
    stage.reach('printing')
    assert stage.left() == 'the result lines were cut short'
    with pytest.raises(ValueError, match="stage 'done': expected one of"):
        stage.reach('done')


def test_what_a_stop_with_answers_leaves_at_each_stage():
    """A stop that came with the answers so far: they are written beside
    ``--out`` (never over it), and the line follows the stage the run got
    to, and counts the inputs answered with an error apart. Before, it said
    the results "were printed" even when a second Ctrl-C cut the printing
    short, and called an input that failed "classified"."""
    stage = InferStage()
    stage.start('out/r.json', 'vis')
    answers = {
        'a.mp4': {
            'm': {
                'label': 0
            }
        },
        'b.mp4': {
            'error': 'cannot decode'
        },
    }
    stage.stopped_after(answers, 5)
    assert stage.results_file() == 'out/r.partial.json'
    stage.reach('printing')  # a second Ctrl-C while printing them
    assert stage.left() == (
        'the result lines of the 2 of 5 inputs answered before it (1 of '
        'them with an error) were cut short; out/r.partial.json was not '
        'written; out/r.json was not written; nothing was drawn into vis; '
        'the other 3 were not classified')
    stage.reach('printed')
    stage.reach('writing')
    assert stage.left().startswith(
        'the results of the 2 of 5 inputs answered before it (1 of them '
        'with an error) were printed; out/r.partial.json was not written; ')
    stage.reach('written')
    assert stage.left() == (
        'the results of the 2 of 5 inputs answered before it (1 of them '
        'with an error) were printed and written to out/r.partial.json; '
        'out/r.json was not written; nothing was drawn into vis; the other '
        '3 were not classified')
    # A task that could not be loaded is an error in every input; a task
    # that skipped an input of another kind is none.
    stage.start('-', None)
    stage.stopped_after({'a.mp4': {'t': {'skipped': 'an image task'}}}, 4)
    stage.reach('printed')
    assert stage.results_file() is None
    assert stage.left() == ('the results of the 1 of 4 inputs answered '
                            'before it were printed to stdout as JSON, which '
                            'holds no other input; the other 3 were not '
                            'classified')
    stage.start('r', None)
    stage.stopped_after({'a.mp4': {'t': {'label': 1}}}, 2, {'u': 'broken'})
    assert stage.results_file() == 'r.partial'
    assert '(1 of them with an error)' in stage.left()


def test_partial_results_path():
    """Beside ``--out``, its extension kept so that tools open it."""
    assert partial_results_path('a/results.json') == 'a/results.partial.json'
    assert partial_results_path('a.b/results') == 'a.b/results.partial'


def test_a_run_stopped_while_drawing_keeps_its_results(infer,
                                                       stock_video_model,
                                                       tmp_path, capsys,
                                                       clean_loggers,
                                                       monkeypatch):
    """``--out`` is written before the drawings, which may take long (every
    frame of every video): stopped while drawing, the results are kept.
    Before, they were written after the drawings, and lost."""
    clip = write_clip(str(tmp_path / 'clip.mp4'), num_frames=12)
    out, show = tmp_path / 'r.json', tmp_path / 'vis'

    def stopped_drawing(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C in a long drawing

    monkeypatch.setitem(infer.__globals__, '_draw', stopped_drawing)
    with pytest.raises(SystemExit) as end:
        infer([
            stock_video_model['config'], stock_video_model['checkpoint'], clip,
            '--out',
            str(out), '--show-dir',
            str(show)
        ])
    assert end.value.code == 128 + signal.SIGINT
    captured = capsys.readouterr()
    assert captured.out.startswith(f'{clip}: tiny: ')
    assert list(json.loads(out.read_text())) == [clip]
    assert captured.err.strip().splitlines()[-1] == (
        'infer.py: stopped by Ctrl-C (SIGINT): the results were printed and '
        f'written to {out}; the drawings in {show} were cut short')
