# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which task's parts serve a task on a shared backbone: a removed task's
adapters leave every block (a task added again under its name does not run
them), and each task that trained a module the first task did not (a
final norm) runs its own, however many there are. Guards of kept behaviour
(mutation audit): they fail when removal leaves the task's adapters in the
blocks, or when a later task that trained a routed module is given the
shared frozen one."""
import pytest
import torch
from stripes_task import stripes_images, train_stripes_tasks
from task_engines import scores_alone

from mmadaptformer.apis import MultiTaskRecognizer
from mmadaptformer.models.multitask import TaskRoutedModule

BLOCKS = 'backbone.backbone.layers'
LN1 = 'backbone.backbone.ln1'
# Each task: the keys it trains besides adapters and head, and the blocks
# with adapters.
TASKS = dict(
    plain=([], [-1]),
    both=([], [0, 1]),
    ln1=([r'^backbone\.ln1\.'], [-1]),
)


@pytest.fixture(scope='module')
def image_tasks(tmp_path_factory, tiny_image_data):
    """The tasks of :data:`TASKS`, each trained for an epoch (adapter-only
    checkpoints) on one stock tiny ViT."""
    return train_stripes_tasks(
        tmp_path_factory.mktemp('routing_E'), tiny_image_data, TASKS)


@pytest.fixture(scope='module')
def alone(image_tasks, tiny_image_data):
    """Each task's scores by image, through its own model."""
    results = scores_alone(image_tasks, list(image_tasks),
                           stripes_images(tiny_image_data))
    return {
        name: {
            image: answers[name]['scores']
            for image, answers in by_image.items()
        }
        for name, by_image in results.items()
    }


def _add(engine, image_tasks, name, task=None):
    task = image_tasks[task or name]
    engine.add_task(name, task['config'], task['checkpoint'])


def _assert_answers(engine, expected, images):
    """Each task of ``engine`` answers as the task ``expected[name]``
    alone."""
    results = engine(images, batch_size=4)
    for image in images:
        assert list(results[image]) == engine.tasks
        for name, scores in expected.items():
            torch.testing.assert_close(
                torch.tensor(results[image][name]['scores']),
                torch.tensor(scores[image]),
                rtol=1e-5,
                atol=1e-7,
                msg=lambda m: f'{name} on {image}: {m}')


def test_a_removed_tasks_adapters_leave_every_block(image_tasks, alone,
                                                    tiny_image_data,
                                                    clean_loggers):
    """'both' has adapters in blocks 0 and 1, the shared task 'plain' in
    block 1 only. Removed, it leaves block 0 a stock block and block 1 with
    'plain''s adapter alone; a task added again under its name (one with
    an adapter in block 1 only) runs none of its adapters."""
    images = stripes_images(tiny_image_data)
    engine = MultiTaskRecognizer()
    _add(engine, image_tasks, 'plain')
    _add(engine, image_tasks, 'both')
    _assert_answers(engine, dict(plain=alone['plain'], both=alone['both']),
                    images)
    engine.remove_task('both')
    held = [
        name for module in engine.base.modules()
        if hasattr(module, 'adapters') for name in module.adapters
    ]
    assert held == ['plain']
    # A task of adapters in block 1 only, under the removed task's name.
    _add(engine, image_tasks, 'both', task='plain')
    _assert_answers(engine, dict(plain=alone['plain'], both=alone['plain']),
                    images)
    blocks = engine.base.get_submodule(BLOCKS)
    assert getattr(blocks[0], 'adaptmlp', None) is None


def test_every_task_that_trained_a_module_runs_its_own(image_tasks, alone,
                                                       tiny_image_data,
                                                       clean_loggers):
    """The shared task 'plain' froze the final norm; 'ln1' trained it, and
    so does the third task (its files again): each of them runs its own
    norm, not the shared frozen one, and answers as alone."""
    images = stripes_images(tiny_image_data)
    engine = MultiTaskRecognizer()
    _add(engine, image_tasks, 'plain')
    _add(engine, image_tasks, 'ln1')
    _add(engine, image_tasks, 'ln1_again', task='ln1')
    _assert_answers(
        engine,
        dict(plain=alone['plain'], ln1=alone['ln1'], ln1_again=alone['ln1']),
        images)
    routed = engine.base.get_submodule(LN1)
    assert isinstance(routed, TaskRoutedModule)
    assert routed.per_task['ln1_again'] is not routed.original
