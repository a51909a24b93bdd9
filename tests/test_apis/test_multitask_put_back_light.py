# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A norm that ``remove_task`` put back into the shared frozen backbone is
checked as frozen on the light load path too: a later task's adapter-only
checkpoint (loaded without its frozen backbone, by
:func:`~mmadaptformer.apis.task_parts.load_task_parts`) whose frozen copy
of that norm differs is refused; one whose copy matches is loaded light
and shares it.

A guard of kept behaviour: the code before it already refused such a task
(the norm's keys join the shared tensors, which the light load checks
against the checkpoint's records); only the full-load refusal was tested
(``test_multitask_task_removal.py``)."""
import pytest
import torch
from checkpoint_makers import save_stock_image_checkpoint
from stripes_task import stripes_images, train_stripes_task
from task_engines import assert_task_scores, scores_alone

from mmadaptformer.apis import MultiTaskRecognizer, TaskError
from mmadaptformer.apis import task_parts as task_parts_module

LN2 = 'backbone.backbone.layers.1.ln2'
LN2_KEY = 'backbone.layers.1.ln2.weight'


@pytest.fixture(scope='module')
def tasks(tmp_path_factory, tiny_image_data):
    """Adapter-only tasks (adapters in the last block) on a stock tiny
    ViT: ``ln2_1`` also trains block 1's ``ln2``, ``plain`` and ``plain2``
    train no norm; ``moved`` trains no norm either, on a stock backbone
    that differs from the first in block 1's ``ln2`` weight alone."""
    root = tmp_path_factory.mktemp('put_back_light')
    stock = str(root / 'stock.pth')
    state = save_stock_image_checkpoint(stock)
    moved_state = {k: v.clone() for k, v in state.items()}
    moved_state[LN2_KEY] += 0.5
    moved = str(root / 'moved.pth')
    torch.save({'state_dict': moved_state, 'meta': {}}, moved)
    ln2 = [r'^backbone\.layers\.1\.ln2\.']
    # Each task (seeds 0 to 3): its stock checkpoint and extra_trainable.
    stocks = dict(
        ln2_1=(stock, ln2),
        plain=(stock, []),
        plain2=(stock, []),
        moved=(moved, []))
    return {
        name: train_stripes_task(root / name, tiny_image_data, path, extra,
                                 seed)
        for seed, (name, (path, extra)) in enumerate(stocks.items())
    }


@pytest.fixture
def light_loads(monkeypatch):
    """The names of the tasks that ``load_task_parts`` loaded (light)."""
    loaded = []
    real = task_parts_module.load_task_parts

    def spy(name, *args, **kwargs):
        out = real(name, *args, **kwargs)
        if out is not None:
            loaded.append(name)
        return out

    monkeypatch.setattr(task_parts_module, 'load_task_parts', spy)
    return loaded


def _add(engine, tasks, name, as_name=None):
    engine.add_task(as_name or name, tasks[name]['config'],
                    tasks[name]['checkpoint'])


def test_a_put_back_norm_refuses_a_light_task_with_another_copy(
        tasks, light_loads, tiny_image_data, clean_loggers):
    """After ``ln2_1`` (the first task, which trained block 1's ``ln2``)
    is removed, ``plain``'s frozen copy of that norm is put back and joins
    the shared frozen tensors. ``moved``, an adapter-only task whose frozen
    ``ln2`` differs (and nothing else), goes the light path (every frozen
    key it has is shared now) and is refused there, naming the norm's
    weight; nothing of it stays attached. ``plain2``, on the same stock,
    is then loaded light and shares the put-back norm, answering as it
    does alone."""
    engine = MultiTaskRecognizer()
    _add(engine, tasks, 'ln2_1')
    _add(engine, tasks, 'plain')
    # plain's frozen ln2 is not shared yet (the first task trained it):
    # loaded in full.
    assert light_loads == []
    engine.remove_task('ln2_1')
    norm = engine.base.get_submodule(LN2)
    assert type(norm) is torch.nn.LayerNorm
    held = engine.num_tensor_elements()
    with pytest.raises(
            TaskError,
            match=r"Task 'moved' .* was trained on another frozen backbone "
            r'than the shared one.*1 of its \d+ recorded frozen tensors '
            r"differ \(e\.g\. \['backbone\.layers\.1\.ln2\.weight'\]\)"):
        _add(engine, tasks, 'moved')
    assert engine.tasks == ['plain']
    assert engine.base.get_submodule(LN2) is norm
    assert engine.num_tensor_elements() == held
    _add(engine, tasks, 'plain2')
    assert light_loads == ['plain2']
    assert engine.base.get_submodule(LN2) is norm
    images = stripes_images(tiny_image_data)
    results = engine(images, batch_size=4)
    alone = scores_alone(tasks, ('plain', 'plain2'), images)
    for name in ('plain', 'plain2'):
        assert_task_scores(results, alone[name], name, images)
