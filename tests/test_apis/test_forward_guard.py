# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The inferencers share their model with the caller: a model left in
training mode answers as in eval mode and is given back as it was, and two
threads calling one inferencer run one at a time."""
import threading

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
