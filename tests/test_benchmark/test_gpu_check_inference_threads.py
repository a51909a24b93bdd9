# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The GPU check's ``array_thread_inference`` on the CPU: numpy arrays
against files, and two threads in one inferencer, one multi-task engine
and one model's forward against sequential calls, for AdaptFormer and
VPT-shallow. With a forward state shared between threads (each block's
AdapterRouter, VPT-shallow's carried prompts, a multi-task engine without
its lock or answering with another thread's task) the check fails."""
import os
import os.path as osp
import threading

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.apis import MultiTaskRecognizer
from mmadaptformer.benchmark.gpu_check import (CHECKS, build_context,
                                               check_array_thread_inference,
                                               format_gpu_summary,
                                               parse_gpu_check_args,
                                               prepare_workspace)


def _save_trained(config, path, seed):
    """A full checkpoint of the AdaptFormer config on its stock backbone,
    its adapters and head drawn from ``seed`` (as a training run would
    leave them, in seconds)."""
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if 'adaptmlp' in name or name.startswith('head.'):
                param.normal_(std=0.5)
    os.makedirs(osp.dirname(path))
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)


@pytest.fixture(scope='module')
def ctx(tmp_path_factory):
    """A CPU check context whose image task has two 'trained' runs, where
    the training checks leave them."""
    out = tmp_path_factory.mktemp('gpu_check')
    workspace = prepare_workspace(str(out / 'workspace'))
    args = parse_gpu_check_args(['--out-dir', str(out), '--device', 'cpu'])
    context = build_context(args, 'cpu', workspace)
    for seed, run in enumerate(('bfloat16', 'float32')):
        _save_trained(workspace['image_config'],
                      str(out / 'work' / 'train_image' / run / 'epoch_2.pth'),
                      seed)
    return context


def _expectations(result):
    return {e['name']: e for e in result['expectations']}


def test_arrays_and_threads_score_as_files_and_sequential_calls(
        ctx, clean_loggers):
    result = check_array_thread_inference(ctx, tasks=['image'])
    assert result['status'] == 'passed', result['failures']
    expected = _expectations(result)
    details = result['details']
    assert details['adaptformer_tasks'] == ['image']
    for label in ('image float32', 'vpt-shallow image'):
        assert expected[f'{label}: arrays answered under their indices'][
            'measured'] == list(range(8))
        swap = details[f'{label}: distance to the arrays in the other '
                       'colour order']
        # Red and blue swapped score otherwise: the limit is below that.
        arrays = expected[f'{label}: max score diff, arrays vs files (cpu)']
        assert arrays['measured'] <= 1e-6
        assert swap > 0 and arrays['limit'] == min(2e-3, swap / 10)
        # Without a lock the two forwards did overlap; through the
        # inferencer the second waited for the first.
        assert expected[f'{label} model forward threads: second forward '
                        'ran while the first was held']['ok']
        assert details[f'{label} ModelInferencer threads: forwards '
                       'overlapped'] is False
        for kind in ('ModelInferencer', 'model forward'):
            distance = details[f'{label} {kind} threads: distance between '
                               'the two calls']
            for thread in ('first', 'second'):
                got = expected[f'{label} {kind} threads: max score diff, '
                               f'{thread} thread vs sequential']
                assert got['measured'] <= 1e-6
                assert distance > 0 and got['limit'] == min(
                    2e-3, distance / 10)
    threads = 'image multi-task threads (bfloat16, float32)'
    for thread in ('first', 'second'):
        assert expected[f'{threads}: max score diff, {thread} thread vs '
                        'sequential']['ok']
    for run in ('bfloat16', 'float32'):
        assert expected[f'image multi-task {run}: max score diff, arrays '
                        'vs files (cpu)']['measured'] <= 1e-6
    # The device is the CPU: nothing is compared with itself.
    assert not any('vs cpu' in name for name in expected)
    assert 'array_thread_inference' in CHECKS and CHECKS[
        'array_thread_inference'][0] == 2


class _SharedForwardState:
    """The AdapterRouter's forward state as one object for all threads."""
    armed = False
    x = None
    norm_called = False
    applied = False


class _SharedCarriedPrompts:
    """VPT-shallow's carried prompts as one slot for all threads."""

    def __init__(self):
        self.prompts = None

    def put(self, prompts):
        self.prompts = prompts

    def take(self):
        prompts, self.prompts = self.prompts, None
        return prompts


def _failed(result, prefix):
    return [f for f in result['failures'] if f.startswith(prefix)]


def test_forward_state_shared_by_threads_fails(ctx, monkeypatch,
                                               clean_loggers):
    """Each block's AdapterRouter and VPT-shallow's carried prompts as one
    object for all threads: the model forwards of two threads at once
    fail, each naming what was missing."""
    monkeypatch.setattr('mmadaptformer.models.adapters.router._ForwardState',
                        _SharedForwardState)
    monkeypatch.setattr('mmadaptformer.models.backbones.vpt._CarriedPrompts',
                        _SharedCarriedPrompts)
    result = check_array_thread_inference(ctx, tasks=['image'])
    assert result['status'] == 'failed'
    answered = 'model forward threads: both threads answered'
    failed = _failed(result, f'image float32 {answered}')
    assert failed and 'was not called during' in failed[0], \
        result['failures']
    failed = _failed(result, f'vpt-shallow image {answered}')
    assert failed and 'right before it' in failed[0], result['failures']
    # Through the inferencer's lock the calls still took turns.
    assert not _failed(result, 'image float32 ModelInferencer threads')
    assert not _failed(result, 'vpt-shallow image ModelInferencer threads')


def test_a_multitask_engine_without_its_lock_fails(ctx, monkeypatch,
                                                   clean_loggers):
    """Its batch layout is the engine's: two calls at once break it."""
    for name in ('__call__', 'predict'):
        monkeypatch.setattr(MultiTaskRecognizer, name,
                            getattr(MultiTaskRecognizer, name).__wrapped__)
    result = check_array_thread_inference(ctx, tasks=['image'])
    assert _failed(
        result, 'image multi-task threads (bfloat16, float32): both '
        'threads answered'), result['failures']


def test_a_thread_answered_with_the_other_threads_task_fails(
        ctx, monkeypatch, clean_loggers):
    """A race that answers a call with the adapters of the task that the
    latest call asked for: right when calls take turns, wrong for the
    first of two concurrent calls. The two tasks' scores are close after
    the same training, but not within the check's limit."""
    real = MultiTaskRecognizer.__call__
    latest = {}
    lock = threading.Lock()

    def racy(self, inputs, tasks=None, **kwargs):
        with lock:
            latest['tasks'] = tasks
        results = real(self, inputs, tasks=tasks, **kwargs)  # held here
        with lock:
            answered = latest['tasks']
        if tasks is None or answered == tasks:
            return results
        results = real(self, inputs, tasks=answered, **kwargs)
        return {
            key: {
                tasks: answer[answered]
            }
            for key, answer in results.items()
        }

    monkeypatch.setattr(MultiTaskRecognizer, '__call__', racy)
    result = check_array_thread_inference(ctx, tasks=['image'])
    threads = 'image multi-task threads (bfloat16, float32)'
    assert _failed(result, f'{threads}: max score diff, first thread vs '
                   'sequential'), result['failures']
    assert not _failed(result, f'{threads}: max score diff, second')
    assert not _failed(result, f'{threads}: both threads answered')


def test_summary_columns_fit_the_longest_check_name():
    data = dict(
        status='complete',
        device='cpu',
        torch='2',
        date='today',
        checks=dict(
            array_thread_inference=dict(
                status='passed', seconds=16, wall_seconds=28),
            profile=dict(status='passed', seconds=1, wall_seconds=9)),
        goals=[])
    lines = format_gpu_summary(data).splitlines()
    rows = [line for line in lines if line.startswith(('array', 'profile'))]
    assert rows[0].split() == ['array_thread_inference', 'passed', '16', '28']
    assert rows[0].index('passed') == rows[1].index('passed')
