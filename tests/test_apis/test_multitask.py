# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Many tasks on one frozen backbone: the same scores as each task alone,
one batched forward, a shared prefix computed once, a task's memory.
Which tasks may share the backbone: test_multitask_task_checks.py; the
pipeline groups: test_multitask_pipeline_groups.py."""
import pytest
import torch
from adapter_tasks import val_videos
from helpers import stripes_config, stripes_images
from task_engines import (assert_results_as_alone, assert_task_scores,
                          task_engine)

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer
from mmadaptformer.models.multitask import MultiTaskAdaptMLP
from mmadaptformer.utils import safe_torch_load


def _block_rows(engine):
    """Record the rows each block gets, per call."""
    calls = {i: [] for i in range(len(engine.blocks))}
    handles = [
        block.register_forward_pre_hook(
            lambda m, args, i=i: calls[i].append(args[0].shape[0]))
        for i, block in enumerate(engine.blocks)
    ]
    return calls, handles


def test_mixed_batch_equals_each_task_alone(video_tasks, tiny_video_data,
                                            video_tasks_alone, clean_loggers):
    # 'full' has adapters from block 0, the others in block 1 (the last)
    # only; loaded after 'last', its block-0 adapter gets new hooks there.
    names = ['last', 'full', 'last2']
    engine = task_engine(video_tasks, names)
    assert engine.streams.split_at == dict(full=0, last=1, last2=1)
    assert isinstance(engine.blocks[0].adaptmlp, MultiTaskAdaptMLP)
    assert set(engine.blocks[0].adaptmlp.adapters) == {'full'}
    videos = val_videos(tiny_video_data)
    calls, handles = _block_rows(engine)
    adapter_rows = []
    mixed = engine.blocks[1].adaptmlp
    assert isinstance(mixed, MultiTaskAdaptMLP)
    assert set(mixed.adapters) == set(names)
    handle = mixed.register_forward_pre_hook(
        lambda m, args: adapter_rows.append(args[0].shape[0]))
    results = engine(videos, batch_size=4)
    for h in handles + [handle]:
        h.remove()
    assert_results_as_alone(results, video_tasks_alone, names)
    # 2 batches of 4 videos x 6 views = 24 rows per stream. Block 0 runs the
    # stream 'full' splits off and the stream 'last'/'last2' still share;
    # block 1 runs all three streams in ONE call, each with its adapter.
    assert calls == {0: [48, 48], 1: [72, 72]}
    assert adapter_rows == [72, 72]

    # Without 'full', block 0 has no adapter left: it loses its hooks and
    # runs once for both tasks; loading 'full' again hooks it anew.
    engine.remove_task('full')
    assert not hasattr(engine.blocks[0], 'adaptmlp')
    assert engine.streams.split_at == dict(last=1, last2=1)
    calls, handles = _block_rows(engine)
    results = engine(videos[:2], batch_size=2)
    for h in handles:
        h.remove()
    assert calls == {0: [12], 1: [24]}
    assert_results_as_alone(results, video_tasks_alone, ['last', 'last2'])
    engine.add_task('full', video_tasks['full']['config'],
                    video_tasks['full']['checkpoint'])
    assert_results_as_alone(
        engine(videos[:2], batch_size=2), video_tasks_alone, names)


def test_tasks_may_be_named_like_module_attributes(video_tasks,
                                                   tiny_video_data,
                                                   video_tasks_alone,
                                                   clean_loggers):
    # torch's ModuleDict refuses these as keys ('train' and 'bfloat16' are
    # Module methods, a dot separates submodules); as task names they work.
    names = {'train': 'full', 'bfloat16': 'last', 'hmdb51.v2': 'last2'}
    engine = MultiTaskRecognizer()
    for name, task in names.items():
        engine.add_task(name, video_tasks[task]['config'],
                        video_tasks[task]['checkpoint'])
    assert set(engine.blocks[1].adaptmlp.adapters) == set(names)
    results = engine(val_videos(tiny_video_data)[:4], batch_size=4)
    alone = {
        name: {
            path: {
                name: answers[task]
            }
            for path, answers in video_tasks_alone[task].items()
        }
        for name, task in names.items()
    }
    assert_results_as_alone(results, alone, list(names))
    engine.remove_task('bfloat16')
    assert set(engine.blocks[1].adaptmlp.adapters) == {'train', 'hmdb51.v2'}


def test_shared_prefix_is_computed_once(video_tasks, tiny_video_data,
                                        video_tasks_alone, clean_loggers):
    engine = task_engine(video_tasks, ['last', 'last2'])
    videos = val_videos(tiny_video_data)[:4]
    calls, handles = _block_rows(engine)
    results = engine(videos, batch_size=4)
    for h in handles:
        h.remove()
    # Block 0 has no adapter of either task: it runs once, on 24 rows.
    assert calls == {0: [24], 1: [48]}
    assert_results_as_alone(results, video_tasks_alone, ['last', 'last2'])


def test_a_task_costs_its_adapters_head_and_trained_norm(
        video_tasks, clean_loggers):
    engine = task_engine(video_tasks, ['last'])
    before = engine.num_tensor_elements()
    backbone = {id(t) for t in engine.base.backbone.parameters()}
    engine.add_task('last2', video_tasks['last2']['config'],
                    video_tasks['last2']['checkpoint'])
    # Exactly what its adapter-only checkpoint holds: one AdaptMLP
    # 64 -> 8 -> 64, the BN+Linear head (BN buffers included) and the
    # trained fc_norm.
    saved = safe_torch_load(video_tasks['last2']['checkpoint'])['state_dict']
    adapter = 64 * 8 + 8 + 8 * 64 + 64
    assert sum(v.numel() for v in saved.values()
               if torch.is_tensor(v)) == adapter + 259 + 128
    assert engine.num_tensor_elements() - before == adapter + 259 + 128
    # The frozen backbone tensors are the very same objects.
    frozen = engine.base.backbone.backbone.blocks[0].attn.qkv.weight
    assert id(frozen) in backbone
    engine.remove_task('last2')
    assert engine.num_tensor_elements() == before
    assert engine.tasks == ['last']


def test_unknown_task_is_named(video_tasks, tiny_video_data, clean_loggers):
    engine = task_engine(video_tasks, ['last'])
    with pytest.raises(KeyError, match=r"\['nope'\].*\['last'\]"):
        engine(val_videos(tiny_video_data)[:1], tasks=['nope'])


# Config lines that turn the tiny ViT image task into another host.
HOST_CHANGES = dict(
    VisionTransformer='',
    DeiT="model['backbone']['backbone']['type'] = "
    "'DistilledVisionTransformer'\n"
    "model['head'] = dict(type='DeiTClsHead', num_classes=2, "
    'in_channels=64)\n',
    Swin="model['backbone']['backbone'] = dict(type='SwinTransformer', "
    'arch=dict(embed_dims=16, depths=[2, 2], num_heads=[1, 2]), '
    'img_size=32, window_size=2, out_indices=(1, ))\n'
    "model['neck'] = dict(_delete_=True, type='GlobalAveragePooling')\n"
    "model['head'] = dict(type='LinearClsHead', num_classes=2, "
    'in_channels=32)\n')


@pytest.mark.parametrize('host', list(HOST_CHANGES))
def test_image_tasks_from_full_checkpoints(host, tmp_path, tiny_image_data,
                                           clean_loggers):
    """mmpretrain image classifiers, full checkpoints: two tasks with their
    own adapters and heads on one backbone equal each model alone. DeiT's
    backbone gives a (cls, dist) pair per output: its rows are cut per task
    too. Swin has a neck without weights, which the tasks share."""
    from adapter_tasks import random_task_checkpoints
    config = stripes_config(tmp_path, tiny_image_data, HOST_CHANGES[host])
    checkpoints = random_task_checkpoints(config, 'mmpretrain', tmp_path)
    engine = MultiTaskRecognizer()
    engine.add_task('a', config, checkpoints[0])
    engine.add_task('b', config, checkpoints[1])
    last = len(engine.blocks) - 1
    assert engine.streams.split_at == dict(a=last, b=last)
    images = stripes_images(tiny_image_data)
    results = engine(images, batch_size=4)
    for name, path in zip('ab', checkpoints):
        assert_task_scores(results,
                           ModelInferencer(config, path, name=name)(images),
                           name, images)
        for image in images:
            assert results[image][name]['class'] in ('horizontal', 'vertical')
    assert results[images[0]]['a']['scores'] != \
        results[images[0]]['b']['scores']


def test_calls_from_two_threads_run_one_at_a_time(video_tasks, tiny_video_data,
                                                  video_tasks_alone,
                                                  clean_loggers):
    """The task streams hold the layout of the forward in progress: two
    threads calling at once broke each other's forward ("Task 'a' is in no
    stream of this forward") before the engine took a lock."""
    import threading
    engine = task_engine(video_tasks, ['full', 'last'])
    videos = val_videos(tiny_video_data)[:2]
    errors, answers = [], []

    def call(tasks):
        try:
            for _ in range(3):
                answers.append((tasks, engine(videos, tasks=tasks)))
        except Exception as e:  # noqa: B902 -- reported below
            errors.append(e)

    threads = [
        threading.Thread(target=call, args=(tasks, ))
        for tasks in (['full'], ['last'], ['full', 'last'])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(answers) == 9
    for tasks, results in answers:
        assert_results_as_alone(results, video_tasks_alone, tasks)


def test_scores_do_not_depend_on_the_batch(tmp_path, tiny_image_data,
                                           clean_loggers):
    """The stripes config's test pipeline does not resize: an image of
    another size in the batch padded the others (see test_inference)."""
    import cv2
    import numpy as np
    from adapter_tasks import random_task_checkpoints
    config = stripes_config(tmp_path, tiny_image_data)
    checkpoints = random_task_checkpoints(config, 'mmpretrain', tmp_path)
    engine = MultiTaskRecognizer()
    for name, ckpt in zip('ab', checkpoints):
        engine.add_task(name, config, ckpt)
    large = str(tmp_path / 'large.png')
    cv2.imwrite(
        large,
        np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    images = stripes_images(tiny_image_data) + [large]
    together = engine(images, batch_size=len(images))
    alone = engine(images, batch_size=1)
    for image in images:
        for name in 'ab':
            # Batches of other sizes round differently (1e-7); padding
            # changed the scores by far more.
            torch.testing.assert_close(
                torch.tensor(together[image][name]['scores']),
                torch.tensor(alone[image][name]['scores']),
                rtol=1e-5,
                atol=1e-6)
