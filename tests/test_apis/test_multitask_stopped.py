# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Ctrl-C in a long ``MultiTaskRecognizer`` call keeps the answers so far,
as in a ``ModelInferencer`` call: the ``KeyboardInterrupt`` carries them
(``results``, every task's answers of the inputs answered before it) and
the number of inputs (``num_inputs``). Before, they were lost with the
call."""
import io
import os

import pytest
from adapter_tasks import random_task_checkpoints
from media_files import write_clip
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG

from mmadaptformer.apis import MultiTaskRecognizer


@pytest.fixture
def stopped_engine(tmp_path):
    """Two tasks on one backbone, and 8 inputs: links to one clip, with a
    missing file second."""
    first, second = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG,
                                            'mmaction', tmp_path)
    clip = write_clip(str(tmp_path / 'clip.mp4'), num_frames=12)
    inputs = []
    for i in range(7):
        os.symlink(clip, tmp_path / f'v{i}.mp4')
        inputs.append(str(tmp_path / f'v{i}.mp4'))
    inputs.insert(1, str(tmp_path / 'missing.mp4'))
    engine = MultiTaskRecognizer()
    engine.add_task('a', TINY_ADAPTFORMER_VIDEO_CONFIG, first)
    engine.add_task('b', TINY_ADAPTFORMER_VIDEO_CONFIG, second)
    return engine, inputs


def _stop_in_forward(engine, number: int) -> list:
    """Make the ``number``-th batched forward of ``engine`` raise
    KeyboardInterrupt, as the terminal's SIGINT raises it there; the
    sizes of the forwards run are recorded in the list returned."""
    forward = engine._forward_group
    calls = []

    def interrupted(group, tasks, data):
        calls.append(len(data))
        if len(calls) == number:
            raise KeyboardInterrupt
        return forward(group, tasks, data)

    engine._forward_group = interrupted
    return calls


def test_ctrl_c_carries_the_answers_so_far(stopped_engine):
    engine, inputs = stopped_engine
    whole = engine(inputs[:5], tasks=['b', 'a'], batch_size=2)
    calls = _stop_in_forward(engine, 3)
    with pytest.raises(KeyboardInterrupt) as stop:
        engine(inputs, tasks=['b', 'a'], batch_size=2)
    # Chunks [v0, missing], [v1, v2], then [v3, v4] was cut short.
    assert calls == [1, 2, 2]
    assert stop.value.num_inputs == 8
    assert list(stop.value.results) == inputs[:4]
    # As a whole call gives them: each task's answers, in the order asked,
    # and the missing file's one error.
    assert stop.value.results == {key: whole[key] for key in inputs[:4]}
    assert list(stop.value.results[inputs[0]]) == ['b', 'a']
    assert 'missing.mp4: no such file' in \
        stop.value.results[inputs[1]]['error']


def test_a_stop_before_any_answer_carries_none(stopped_engine):
    engine, inputs = stopped_engine
    _stop_in_forward(engine, 1)
    with pytest.raises(KeyboardInterrupt) as stop:
        engine(inputs[2:], batch_size=3)
    assert stop.value.results == {}
    assert stop.value.num_inputs == 6


def test_ctrl_c_ends_the_progress_bars_line(stopped_engine, monkeypatch):
    """On a terminal, the first result line printed after the stop would
    be glued to the unfinished progress bar."""
    from mmengine.utils import ProgressBar

    import mmadaptformer.apis.multitask as module
    engine, inputs = stopped_engine
    terminal = io.StringIO()
    # The bar the call shows on a terminal, written where it can be read.
    monkeypatch.setattr(module, 'progress_bar',
                        lambda total: ProgressBar(total, file=terminal))
    _stop_in_forward(engine, 2)
    with pytest.raises(KeyboardInterrupt):
        engine(inputs[2:6], progress=True)
    shown = terminal.getvalue()
    assert '1/4' in shown and '2/4' not in shown
    assert shown.endswith('\n')


def test_a_chunk_that_some_groups_answered_is_not_kept(tmp_path):
    """Tasks of two pipeline groups: a stop in the second group's forward
    of a chunk keeps the chunks before it, not that chunk with the first
    group's answers alone (as if its other tasks had failed)."""
    first, second = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG,
                                            'mmaction', tmp_path)
    one_view = tmp_path / 'one_view.py'
    one_view.write_text(
        f'_base_ = [{TINY_ADAPTFORMER_VIDEO_CONFIG!r}]\n'
        'test_dataloader = dict(dataset=dict(pipeline=[\n'
        "    dict(type='DecordInit'),\n"
        "    dict(type='SampleFrames', clip_len=4, frame_interval=3,\n"
        '         num_clips=1, test_mode=True),\n'
        "    dict(type='DecordDecode'),\n"
        "    dict(type='Resize', scale=(-1, 32)),\n"
        "    dict(type='CenterCrop', crop_size=32),\n"
        "    dict(type='FormatShape', input_format='NCTHW'),\n"
        "    dict(type='PackActionInputs')]))\n")
    clip = write_clip(str(tmp_path / 'clip.mp4'), num_frames=12)
    inputs = []
    for i in range(4):
        os.symlink(clip, tmp_path / f'v{i}.mp4')
        inputs.append(str(tmp_path / f'v{i}.mp4'))
    engine = MultiTaskRecognizer()
    engine.add_task('a', TINY_ADAPTFORMER_VIDEO_CONFIG, first)
    engine.add_task('b', str(one_view), second)
    assert engine.pipeline_groups == [['a'], ['b']]
    whole = engine(inputs[:2], batch_size=2)
    calls = _stop_in_forward(engine, 4)
    with pytest.raises(KeyboardInterrupt) as stop:
        engine(inputs, batch_size=2)
    # [v0, v1] for a, for b; [v2, v3] for a, then the stop in b's.
    assert calls == [2, 2, 2, 2]
    assert stop.value.results == whole
    assert list(stop.value.results[inputs[0]]) == ['a', 'b']
    assert stop.value.num_inputs == 4
