# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The inferencers share their model with the caller: a model left in
training mode answers as in eval mode and is given back as it was, and two
threads calling one inferencer run one at a time."""
import threading
import time

import pytest
import torch
from adapter_tasks import val_videos
from torch import nn

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer
from mmadaptformer.apis.forward_guard import eval_mode


def _scores(results, name):
    return {path: answer[name]['scores'] for path, answer in results.items()}


def _norm_stats(module):
    return {
        k: v.clone()
        for k, v in module.state_dict().items()
        if 'running_' in k or 'num_batches' in k
    }


def test_eval_mode_gives_back_each_flag_and_the_grad_mode():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Dropout())
    model.train()
    model[0].eval()  # a submodule of its own mode stays so
    with eval_mode(model, None):
        assert not any(m.training for m in model.modules())
        assert not torch.is_grad_enabled()
    assert [m.training for m in model.modules()] == [True, False, True, True]
    assert torch.is_grad_enabled()
    with pytest.raises(ZeroDivisionError):
        with eval_mode(model):
            1 / 0
    assert [m.training for m in model.modules()] == [True, False, True, True]


def test_a_model_in_training_mode_answers_as_in_eval(video_tasks,
                                                     tiny_video_data,
                                                     clean_loggers):
    """The head's BatchNorm in training mode gave other scores (batch
    statistics of the views) and moved its running statistics."""
    task = video_tasks['full']
    videos = val_videos(tiny_video_data, 2)
    inferencer = ModelInferencer(task['config'], task['checkpoint'])
    expected = _scores(inferencer(videos, batch_size=2), 'full')
    inferencer.model.train()
    stats = _norm_stats(inferencer.model)
    assert stats
    got = _scores(inferencer(videos, batch_size=2), 'full')
    for path in videos:
        torch.testing.assert_close(
            torch.tensor(got[path]), torch.tensor(expected[path]))
    assert all(m.training for m in inferencer.model.modules())
    for key, value in _norm_stats(inferencer.model).items():
        torch.testing.assert_close(value, stats[key], rtol=0, atol=0)


def test_a_multitask_model_in_training_mode_answers_as_in_eval(
        video_tasks, tiny_video_data, clean_loggers):
    videos = val_videos(tiny_video_data, 2)
    engine = MultiTaskRecognizer()
    for name in ('full', 'last'):
        engine.add_task(name, video_tasks[name]['config'],
                        video_tasks[name]['checkpoint'])
    expected = engine(videos, batch_size=2)
    heads = [engine._tasks[name].head for name in engine.tasks]
    engine.base.train()
    for head in heads:
        head.train()
    got = engine(videos, batch_size=2)
    for name in engine.tasks:
        for path in videos:
            torch.testing.assert_close(
                torch.tensor(got[path][name]['scores']),
                torch.tensor(expected[path][name]['scores']))
    assert engine.base.training and all(head.training for head in heads)


def test_two_threads_in_one_inferencer_run_one_at_a_time(
        video_tasks, tiny_video_data, clean_loggers):
    """Each adapted block keeps its norm's input until its feed-forward
    branch runs: a second thread's forward in between made the first fail
    ("Block.norm2 was not called during Block.forward"). Here the first
    thread pauses there (until the second is done, or 1 s) to make the
    overlap certain."""
    task = video_tasks['full']
    videos = val_videos(tiny_video_data, 2)
    inferencer = ModelInferencer(task['config'], task['checkpoint'])
    expected = {v: _scores(inferencer(v), 'full')[v] for v in videos}
    inside, second_done = threading.Event(), threading.Event()

    def pause(module, args):
        if threading.current_thread().name == 'first' and \
                not inside.is_set():
            inside.set()
            second_done.wait(1.0)

    norm = inferencer.model.backbone.backbone.blocks[0].norm2
    handle = norm.register_forward_pre_hook(pause)
    answers, errors = {}, []

    def call(video):
        try:
            answers[video] = _scores(inferencer(video), 'full')[video]
        except Exception as e:  # noqa: B902 -- reported below
            errors.append(e)
        finally:
            if threading.current_thread().name == 'second':
                second_done.set()

    first = threading.Thread(target=call, args=(videos[0], ), name='first')
    second = threading.Thread(target=call, args=(videos[1], ), name='second')
    first.start()
    assert inside.wait(30)
    second.start()
    first.join()
    second.join()
    handle.remove()
    assert errors == []
    for video in videos:
        torch.testing.assert_close(
            torch.tensor(answers[video]), torch.tensor(expected[video]))


def test_a_call_inside_another_inferencers_call_does_not_deadlock(
        video_tasks, tiny_video_data, clean_loggers):
    """Code that runs inside one inferencer's call (a user's transform, here
    a forward hook) calls a second inferencer while another thread calls
    that second one. Each call took its own lock, then the process-wide
    scope lock: the other thread held the second's lock and waited for the
    scope lock, the first held the scope lock and waited for the second's
    lock, for ever. Now the scope lock is taken first: both answer."""
    task = video_tasks['full']
    video = val_videos(tiny_video_data, 1)[0]
    outer = ModelInferencer(task['config'], task['checkpoint'])
    inner = ModelInferencer(task['config'], task['checkpoint'])
    expected = _scores(inner(video), 'full')
    inside, started = threading.Event(), threading.Event()
    answers, errors = {}, []

    def call(name, inferencer):
        try:
            answers[name] = _scores(inferencer(video), 'full')
        except Exception as e:  # noqa: B902 -- reported below
            errors.append(e)

    def nested_call(module, args):
        if threading.current_thread().name != 'outer' or inside.is_set():
            return
        inside.set()
        # The other thread has taken inner's lock (before) or waits for the
        # scope lock without it (now).
        started.wait(30)
        time.sleep(0.5)
        call('nested', inner)

    other = threading.Thread(
        target=call, args=('other', inner), name='other', daemon=True)
    handle = outer.model.register_forward_pre_hook(nested_call)
    first = threading.Thread(
        target=call, args=('outer', outer), name='outer', daemon=True)
    first.start()
    try:
        assert inside.wait(30)
        other.start()
        started.set()
        first.join(60)
        other.join(60)
        assert not first.is_alive() and not other.is_alive(), \
            'the two calls wait for each other'
    finally:
        handle.remove()
    assert errors == []
    assert answers['nested'] == answers['other'] == expected
