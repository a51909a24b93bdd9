# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Each task's adapter runs on its own stream of the multi-task batch.

Two tasks adapt different blocks, so their streams hold different hidden
states where both have an adapter: the task with adapters in every block
leaves the shared stream at block 0, the other at the last block. An
adapter applied to the other task's stream (a wrong row slice in
``MultiTaskAdaptMLP``) then changes the scores, which it cannot where both
streams split at the same block (their rows are equal there) or where the
adapters barely moved from their zero initialisation (one epoch of
training), the layouts the other multi-task tests use.
"""
from stripes_task import stripes_config, stripes_images
from task_engines import assert_task_scores

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer


def test_tasks_split_at_different_blocks_get_their_own_streams(
        tmp_path, tiny_image_data, clean_loggers):
    from adapter_tasks import random_task_checkpoints

    # The same stock backbone (seed 0) in both; random adapters and heads.
    every = tmp_path / 'every'
    last = tmp_path / 'last'
    every.mkdir()
    last.mkdir()
    config_every = stripes_config(every, tiny_image_data,
                                  "model['backbone']['layers'] = None\n")
    config_last = stripes_config(last, tiny_image_data)
    ckpt_every, = random_task_checkpoints(
        config_every, 'mmpretrain', every, seeds=(1, ))
    ckpt_last, = random_task_checkpoints(
        config_last, 'mmpretrain', last, seeds=(2, ))
    tasks = dict(
        every=(config_every, ckpt_every), last=(config_last, ckpt_last))

    engine = MultiTaskRecognizer()
    for name, (config, ckpt) in tasks.items():
        engine.add_task(name, config, ckpt)
    assert engine.streams.split_at == dict(every=0, last=1)

    images = stripes_images(tiny_image_data)
    results = engine(images, batch_size=len(images))
    for name, (config, ckpt) in tasks.items():
        assert_task_scores(results,
                           ModelInferencer(config, ckpt, name=name)(images),
                           name, images)
    # The tasks' adapters matter: the two tasks answer differently.
    for image in images:
        assert results[image]['every']['scores'] != \
            results[image]['last']['scores']
