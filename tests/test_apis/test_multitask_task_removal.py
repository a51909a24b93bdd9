# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Removing tasks that trained backbone modules (a norm) from a shared
backbone: a routed module that no task left needs routed is put back as a
plain module, with the hooks that feed the adapters; no tensor of a removed
task stays held, and the tensors counted are those held."""
import gc
import types
import weakref

import pytest
import torch
from checkpoint_makers import save_stock_image_checkpoint
from helpers import stripes_images
from stripes_task import train_stripes_task
from task_engines import (assert_answers_as_alone, routed_paths, scores_alone,
                          task_engine)
from torch import nn

from mmadaptformer.apis import ModelInferencer, TaskError
from mmadaptformer.models import AdaptMLP, remove_adapters

LN2 = 'backbone.backbone.layers.1.ln2'
LN1 = 'backbone.backbone.ln1'
# Each task: the keys it trains besides adapters and head, and the path of
# the module they are in.
TASKS = dict(
    plain=([], None),
    ln2_1=([r'^backbone\.layers\.1\.ln2\.'], LN2),
    ln1=([r'^backbone\.ln1\.'], LN1),
)


@pytest.fixture(scope='module')
def image_tasks(tmp_path_factory, tiny_image_data):
    """The tasks of :data:`TASKS`, each trained for an epoch (adapter-only
    checkpoints, adapters in the last block) on one stock tiny ViT."""
    root = tmp_path_factory.mktemp('task_removal')
    stock = str(root / 'stock.pth')
    save_stock_image_checkpoint(stock)
    return {
        name: train_stripes_task(root / name, tiny_image_data, stock, extra,
                                 seed)
        for seed, (name, (extra, _)) in enumerate(TASKS.items())
    }


@pytest.fixture(scope='module')
def alone(image_tasks, tiny_image_data):
    """Each task's scores, through its own model."""
    return scores_alone(image_tasks, list(image_tasks),
                        stripes_images(tiny_image_data))


def _held_elements(root) -> int:
    """Elements of the distinct tensor storages reachable from ``root``
    through the objects it holds (not through classes, modules or
    functions, which lead to the whole program).
    """
    skip = (type, types.ModuleType, types.FunctionType,
            types.BuiltinFunctionType)
    seen, storages, todo = set(), {}, [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            storage = obj.untyped_storage()
            storages[storage.data_ptr()] = \
                storage.nbytes() // obj.element_size()
            continue
        todo.extend(gc.get_referents(obj))
    return sum(storages.values())


def _trained_refs(engine, name):
    """Weak references to the tensors of the module ``name`` trained."""
    path = TASKS[name][1]
    if path is None:
        return []
    module = engine.base.get_submodule(path).per_task[name]
    return [weakref.ref(t) for t in [*module.parameters(), *module.buffers()]]


# (the load order, the removal order): the first task's model is the shared
# one; a later task that did not train a module the first one trained runs
# its own frozen copy of it.
CASES = [
    (('plain', 'ln2_1'), ('ln2_1', )),
    (('ln2_1', 'plain'), ('ln2_1', )),
    (('ln2_1', 'plain', 'ln1'), ('ln2_1', 'ln1')),
    (('ln2_1', 'plain', 'ln1'), ('plain', 'ln2_1')),
    (('ln1', 'ln2_1', 'plain'), ('plain', 'ln1')),
    (('plain', 'ln1', 'ln2_1'), ('ln1', 'plain')),
]


@pytest.mark.parametrize('order,removals', CASES)
def test_removed_tasks_leave_plain_modules_and_no_tensors(
        order, removals, image_tasks, alone, tiny_image_data, clean_loggers):
    """After each removal: a module is routed only where a task left
    trained it, any other is a plain LayerNorm again; the tasks left
    answer as alone; no tensor of a removed task's trained module stays
    alive; ``num_tensor_elements`` counts what the engine holds. The old
    code kept every routed module, and the first task's trained norm as
    the routed module's original, held but not counted."""
    images = stripes_images(tiny_image_data)
    engine = task_engine(image_tasks, order)
    assert_answers_as_alone(engine, alone, images)
    for name in removals:
        refs = _trained_refs(engine, name)
        engine.remove_task(name)
        gc.collect()
        left = [n for n in order if n in engine.tasks]
        trained = sorted(TASKS[n][1] for n in left if TASKS[n][1])
        assert routed_paths(engine) == trained, name
        for path in {LN1, LN2} - set(trained):
            assert type(engine.base.get_submodule(path)) is nn.LayerNorm
        assert all(ref() is None for ref in refs), name
        assert_answers_as_alone(engine, alone, images)
        assert engine.num_tensor_elements() == _held_elements(engine)


def test_a_norm_put_back_keeps_feeding_the_adapter(image_tasks, alone,
                                                   tiny_image_data,
                                                   clean_loggers):
    """The norm put back after the first task (which trained it) goes is
    the plain frozen one, and holds block 1's adapter hooks (the old code
    kept a TaskRoutedModule there, the hooks on the removed task's norm).
    Tasks loaded after it share it or route it again, as its original,
    and answer as alone; the adapter's hooks still come off through their
    handles."""
    images = stripes_images(tiny_image_data)
    engine = task_engine(image_tasks, ['ln2_1', 'plain'])
    engine.remove_task('ln2_1')
    norm = engine.base.get_submodule(LN2)
    assert len(norm._forward_pre_hooks) == 1  # the adapter's input
    engine.add_task('ln1', image_tasks['ln1']['config'],
                    image_tasks['ln1']['checkpoint'])
    assert engine.base.get_submodule(LN2) is norm
    engine.add_task('ln2_1', image_tasks['ln2_1']['config'],
                    image_tasks['ln2_1']['checkpoint'])
    assert routed_paths(engine) == sorted([LN1, LN2])
    assert engine.base.get_submodule(LN2).original is norm
    assert_answers_as_alone(engine, alone, images)
    engine.remove_task('plain')
    engine.remove_task('ln1')
    assert routed_paths(engine) == [LN2]
    assert_answers_as_alone(engine, alone, images)
    # The adapter's hooks come off the routed norm, which holds the hook
    # dicts their handles (registered on the original) refer to.
    remove_adapters(engine.blocks[1])
    assert not engine.base.get_submodule(LN2)._forward_pre_hooks


def _full_checkpoint(image_tasks, path, change=None):
    """Task ``plain``'s model saved whole, its frozen ``ln2`` of block 1
    changed by ``change`` (added to the weight) if given."""
    task = image_tasks['plain']
    state = ModelInferencer(task['config'], task['checkpoint']).model \
        .state_dict()
    state = {k: v.clone() for k, v in state.items()}
    if change is not None:
        state['backbone.layers.1.ln2.weight'] += change
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path)


def test_a_norm_put_back_is_checked_as_frozen(image_tasks, alone, tmp_path,
                                              tiny_image_data, clean_loggers):
    """Once the task that trained a norm (the first one) is removed, the
    norm put back is part of the shared frozen backbone: a task whose
    frozen copy of it differs is refused as any other frozen mismatch,
    and left nothing attached; one whose copy matches shares it. The old
    code left the first task's trained keys out of the frozen check and
    served the differing task on the other norm."""
    images = stripes_images(tiny_image_data)
    engine = task_engine(image_tasks, ['ln2_1', 'plain'])
    engine.remove_task('ln2_1')
    norm = engine.base.get_submodule(LN2)
    held = engine.num_tensor_elements()
    config = image_tasks['plain']['config']
    other = _full_checkpoint(image_tasks, tmp_path / 'other.pth', 0.5)
    with pytest.raises(
            TaskError,
            match=r"Task 'other' .* was not trained on the shared frozen "
            r'backbone.*1 of its frozen tensors differ \(e\.g\. '
            r"\['backbone\.layers\.1\.ln2\.weight'\]\)"):
        engine.add_task('other', config, other)
    assert engine.tasks == ['plain']
    assert engine.base.get_submodule(LN2) is norm
    assert engine.num_tensor_elements() == held
    same = _full_checkpoint(image_tasks, tmp_path / 'same.pth')
    engine.add_task('same', config, same)
    engine.add_task('ln1', image_tasks['ln1']['config'],
                    image_tasks['ln1']['checkpoint'])
    assert engine.base.get_submodule(LN2) is norm
    assert routed_paths(engine) == [LN1]
    results = engine(images, batch_size=4)
    for image in images:
        torch.testing.assert_close(
            torch.tensor(results[image]['same']['scores']),
            torch.tensor(alone['plain'][image]['plain']['scores']),
            rtol=1e-5,
            atol=1e-7)
    engine.remove_task('same')
    assert_answers_as_alone(engine, alone, images)
    assert engine.num_tensor_elements() == _held_elements(engine)


def test_served_adapters_hold_only_their_parameters(image_tasks,
                                                    clean_loggers):
    """Every adapter of the loaded tasks, loaded whole (the first task,
    one whose frozen tensors the shared backbone lacks) or only its parts
    (a later one), holds no tensor but its parameters and buffers, so
    ``num_tensor_elements`` (the benchmark's memory per added task) counts
    all it holds. The old code kept a copy of each adapter's initial
    values, for ``restore_init``, which is not counted."""
    engine = task_engine(image_tasks, ['ln2_1', 'plain', 'ln1'])
    adapters = [m for m in engine.base.modules() if isinstance(m, AdaptMLP)]
    assert len(adapters) == 3
    for adapter in adapters:
        assert _held_elements(adapter) == sum(
            t.numel() for t in [*adapter.parameters(), *adapter.buffers()])
    assert engine.num_tensor_elements() == _held_elements(engine)
