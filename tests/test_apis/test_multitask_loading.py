# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What adding a task to a MultiTaskRecognizer reads and builds: a later
task with an adapter-only checkpoint is loaded without its frozen backbone
(no read of the pretrained file), and is still refused when it was trained
on another backbone; everything else takes the full load."""
import os.path as osp
import threading

import pytest
import torch
from adapter_tasks import val_videos
from helpers import write_config
from mmengine.runner import CheckpointLoader
from task_engines import assert_task_scores

from mmadaptformer.apis import (ModelInferencer, MultiTaskRecognizer,
                                TaskError, task_parts)
from mmadaptformer.models import FROZEN_HOST_KEY
from mmadaptformer.models.multitask import parameters_on_meta
from mmadaptformer.utils import safe_torch_load

SCHEME = 'countreads-multitask://'


@pytest.fixture
def reads():
    """Files read through ``SCHEME``, registered with MMEngine's public
    ``CheckpointLoader.register_scheme``: ``{path: times read}``."""
    counts = {}

    def count_reads(filename, map_location=None):
        path = filename[len(SCHEME):]
        counts[path] = counts.get(path, 0) + 1
        return safe_torch_load(path, map_location=map_location)

    CheckpointLoader.register_scheme(
        prefixes=SCHEME, loader=count_reads, force=True)
    return counts


def _counted(tmp_path, video_tasks, name, pretrained='stock'):
    """The task's config, its backbone read from ``pretrained`` through
    ``SCHEME``."""
    path = video_tasks[pretrained] if pretrained == 'stock' else osp.join(
        video_tasks['root'], f'{pretrained}.pth')
    return write_config(
        tmp_path / f'{name}_counted.py', video_tasks[name]['config'],
        'model = dict(backbone=dict(backbone=dict(init_cfg=dict('
        f'checkpoint={SCHEME + path!r}))))\n')


def _assert_alone(engine, videos, tasks):
    """Every task's scores equal its own model's, alone."""
    results = engine(videos, batch_size=2)
    for name, (config, checkpoint) in tasks.items():
        assert_task_scores(
            results,
            ModelInferencer(config, checkpoint, name=name)(videos), name,
            videos)


def test_later_tasks_do_not_read_the_pretrained_file(video_tasks,
                                                     tiny_video_data, tmp_path,
                                                     reads, clean_loggers):
    """The first task reads the pretrained file once; each later
    adapter-only task reads only its checkpoint, once, and answers as its
    model alone. A task trained on another backbone is refused on that
    path too, without reading its pretrained file, and changes nothing."""
    stock = video_tasks['stock']
    engine = MultiTaskRecognizer()
    configs = {}
    for name in ('full', 'last', 'last2'):
        configs[name] = _counted(tmp_path, video_tasks, name)
        checkpoint = video_tasks[name]['checkpoint']
        engine.add_task(name, configs[name], SCHEME + checkpoint)
        assert reads[stock] == 1, name
        assert reads[checkpoint] == 1, name
    other = video_tasks['other']
    config = _counted(tmp_path, video_tasks, 'other', pretrained='other')
    with pytest.raises(TaskError) as info:
        engine.add_task('other', config, SCHEME + other['checkpoint'])
    message = str(info.value)
    assert "'other'" in message and "'full'" in message
    assert 'another frozen backbone' in message
    assert reads.get(osp.join(video_tasks['root'], 'other.pth')) is None
    assert reads == {
        stock: 1,
        other['checkpoint']: 1,
        **{video_tasks[n]['checkpoint']: 1
           for n in configs}
    }
    assert engine.tasks == ['full', 'last', 'last2']
    _assert_alone(
        engine, val_videos(tiny_video_data, 2), {
            n: (video_tasks[n]['config'], video_tasks[n]['checkpoint'])
            for n in configs
        })


def _tampered(video_tasks, tmp_path, change):
    """``last2``'s checkpoint with ``change(checkpoint)`` applied."""
    checkpoint = safe_torch_load(video_tasks['last2']['checkpoint'])
    change(checkpoint)
    path = str(tmp_path / 'tampered.pth')
    torch.save(checkpoint, path)
    return path


def _entry(checkpoint):
    return checkpoint['state_dict']['backbone.' + FROZEN_HOST_KEY]


def test_records_that_do_not_fit_the_shared_backbone_are_refused(
        video_tasks, tiny_video_data, tmp_path, reads, clean_loggers):
    """The checkpoint's frozen digest and its wrapper's per-tensor record
    are both checked against the shared tensors; a checkpoint without the
    record (written before it existed) is still checked by its digest."""

    def wrong_digest(checkpoint):
        info = checkpoint['meta']['adapter_checkpoint']
        info['frozen_digest'] = '0' * len(info['frozen_digest'])

    def wrong_record(checkpoint):
        prints = _entry(checkpoint)['fingerprints']
        key = sorted(prints)[0]
        shape, dtype, total, weighted = prints[key]
        prints[key] = (shape, dtype, total + 1, weighted)

    def no_record(checkpoint):
        del checkpoint['state_dict']['backbone.' + FROZEN_HOST_KEY]

    engine = MultiTaskRecognizer()
    configs = {
        n: _counted(tmp_path, video_tasks, n)
        for n in ('last', 'last2')
    }
    engine.add_task('last', configs['last'], video_tasks['last']['checkpoint'])
    for change in (wrong_digest, wrong_record):
        path = _tampered(video_tasks, tmp_path, change)
        with pytest.raises(TaskError, match='frozen backbone'):
            engine.add_task('last2', configs['last2'], path)
        assert engine.tasks == ['last']
    assert reads == {video_tasks['stock']: 1}
    path = _tampered(video_tasks, tmp_path, no_record)
    engine.add_task('last2', configs['last2'], path)
    assert reads == {video_tasks['stock']: 1}
    _assert_alone(
        engine, val_videos(tiny_video_data, 2), {
            'last': (configs['last'], video_tasks['last']['checkpoint']),
            'last2': (configs['last2'], path)
        })


def test_a_task_trained_with_other_adapter_settings_is_refused(
        video_tasks, tmp_path, clean_loggers):
    """A later task whose config runs its adapters with another scale than
    its adapter-only checkpoint was trained with is refused by name, as the
    wrapper's own load refuses it, instead of being served with the
    checkpoint's adapters at the config's scale."""
    engine = MultiTaskRecognizer()
    engine.add_task('last', video_tasks['last']['config'],
                    video_tasks['last']['checkpoint'])
    other_scale = write_config(
        tmp_path / 'last2_scale.py', video_tasks['last2']['config'],
        'model = dict(backbone=dict(adapter=dict(scale=0.37)))\n')
    with pytest.raises(
            Exception,
            match=r'scale \(model\.backbone\.adapter'
            r'\.scale\): checkpoint .*, this model 0\.37'):
        engine.add_task('last2', other_scale,
                        video_tasks['last2']['checkpoint'])
    assert engine.tasks == ['last']


def test_a_task_whose_meta_is_not_a_dict_is_refused_by_name(
        video_tasks, tmp_path, clean_loggers):
    """A later task's checkpoint whose ``meta`` is not a dict (a damaged or
    foreign file) is refused by name, as the full load refuses it, instead
    of failing inside the light load with an ``AttributeError``; the
    loaded task keeps serving."""
    engine = MultiTaskRecognizer()
    engine.add_task('last', video_tasks['last']['config'],
                    video_tasks['last']['checkpoint'])
    checkpoint = safe_torch_load(video_tasks['last2']['checkpoint'])
    checkpoint['meta'] = 'not a dict'
    damaged = str(tmp_path / 'last2_meta.pth')
    torch.save(checkpoint, damaged)
    with pytest.raises(
            Exception, match=rf"{damaged}: its 'meta' is a str, not a dict"):
        engine.add_task('last2', video_tasks['last2']['config'], damaged)
    assert engine.tasks == ['last']


def test_what_cannot_be_loaded_without_the_backbone_takes_the_full_load(
        video_tasks, tiny_video_data, tmp_path, reads, monkeypatch,
        clean_loggers):
    """A merged checkpoint (the whole backbone: compared tensor by tensor)
    and a model that cannot be built without weights are loaded in full;
    the checkpoint is read once either way."""
    from helpers import load_tool
    merged = str(tmp_path / 'last2_merged.pth')
    load_tool('model_converters/merge_adapters.py').main([
        video_tasks['last2']['config'], video_tasks['last2']['checkpoint'],
        merged
    ])
    configs = {
        n: _counted(tmp_path, video_tasks, n)
        for n in ('full', 'last', 'last2')
    }
    engine = MultiTaskRecognizer()
    engine.add_task('full', configs['full'], video_tasks['full']['checkpoint'])
    engine.add_task('last2', configs['last2'], SCHEME + merged)
    assert reads == {video_tasks['stock']: 1, merged: 1}

    def cannot_build():
        raise RuntimeError('Tensor.item() cannot be called on meta tensors')

    monkeypatch.setattr(task_parts, 'parameters_on_meta', cannot_build)
    engine.add_task('last', configs['last'],
                    SCHEME + video_tasks['last']['checkpoint'])
    assert reads[video_tasks['stock']] == 2
    assert reads[video_tasks['last']['checkpoint']] == 1
    _assert_alone(
        engine, val_videos(tiny_video_data, 2), {
            n: (video_tasks[n]['config'], video_tasks[n]['checkpoint'])
            for n in ('full', 'last', 'last2')
        })


def test_parameters_on_meta_holds_no_weights_in_this_thread_only():
    """Parameters go to the meta device as they are registered, buffers stay
    real; another thread building meanwhile gets real weights, and
    nn.Module is as it was afterwards."""
    register = torch.nn.Module.register_parameter
    built = {}
    inside, done = threading.Event(), threading.Event()

    def other_thread():
        inside.wait(30)
        built['other'] = torch.nn.Linear(3, 2)
        done.set()

    thread = threading.Thread(target=other_thread, daemon=True)
    thread.start()
    try:
        with parameters_on_meta():
            model = torch.nn.BatchNorm1d(4)
            model.proj = torch.nn.Linear(4, 5)
            inside.set()
            assert done.wait(30)
    finally:
        inside.set()
        thread.join(30)
    assert torch.nn.Module.register_parameter is register
    assert all(p.is_meta for p in model.parameters())
    assert isinstance(model.proj.weight, torch.nn.Parameter)
    assert model.proj.weight.shape == (5, 4)
    assert all(not b.is_meta for b in model.buffers())
    assert torch.equal(model.running_var, torch.ones(4))
    assert all(not p.is_meta for p in built['other'].parameters())


def test_a_refusal_names_where_the_shared_backbone_came_from(
        video_tasks, clean_loggers):
    """A task trained on another backbone is refused naming the task that
    loaded the shared backbone, its pretrained file and the file the new
    task's config names, also once that first task is removed (before: the
    next loaded task was said to have loaded it, and no file was named)."""
    engine = MultiTaskRecognizer()
    for name in ('full', 'last'):
        engine.add_task(name, video_tasks[name]['config'],
                        video_tasks[name]['checkpoint'])
    engine.remove_task('full')
    other = video_tasks['other']
    with pytest.raises(TaskError) as info:
        engine.add_task('other', other['config'], other['checkpoint'])
    message = str(info.value)
    key = 'model.backbone.backbone.init_cfg.checkpoint'
    assert f"(loaded with task 'full' ({video_tasks['full']['checkpoint']}; " \
        f"frozen weights from {video_tasks['stock']} ({key})))" in message
    assert "task 'last'" not in message
    other_file = osp.join(video_tasks['root'], 'other.pth')
    assert f'Its config names {other_file} ({key}) as its frozen ' \
        'backbone.' in message
    assert engine.tasks == ['last']


def test_a_full_checkpoint_refusal_counts_only_what_it_found(
        video_tasks, tmp_path, clean_loggers):
    """A merged or full checkpoint of another backbone is compared tensor
    by tensor; the refusal counts what differs and leaves out an empty
    'and 0 are missing (e.g. [])'."""
    from mmadaptformer.apis import init_model
    model, _ = init_model(video_tasks['other']['config'],
                          video_tasks['other']['checkpoint'])
    full = str(tmp_path / 'other_full.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, full)
    engine = MultiTaskRecognizer()
    engine.add_task('full', video_tasks['full']['config'],
                    video_tasks['full']['checkpoint'])
    with pytest.raises(TaskError) as info:
        engine.add_task('other', video_tasks['other']['config'], full)
    message = str(info.value)
    assert 'was not trained on the shared frozen backbone' in message
    assert "(loaded with task 'full' (" in message
    assert 'of its frozen tensors differ (e.g. [' in message
    assert 'missing' not in message
