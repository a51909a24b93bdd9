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
import os.path as osp

import pytest
import torch
from helpers import TINY_IMAGE_CONFIG, stripes_config, stripes_images

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, TaskError
from mmadaptformer.apis import task_parts as task_parts_module

LN2 = 'backbone.backbone.layers.1.ln2'
LN2_KEY = 'backbone.layers.1.ln2.weight'


def _train(root, name, data, stock, extra, seed):
    from mmengine.config import Config
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.runner import Runner
    folder = root / name
    folder.mkdir()
    config = stripes_config(
        folder, data, "model['backbone']['backbone']['init_cfg'] = dict("
        f"type='Pretrained', checkpoint={stock!r}, prefix='backbone.')\n"
        "custom_hooks = [dict(type='AdapterHook', "
        f'adapter_only_checkpoint=True, extra_trainable={extra!r})]\n')
    cfg = Config.fromfile(config)
    cfg.work_dir = str(folder / 'work')
    cfg.randomness = dict(seed=seed)
    cfg.train_cfg.max_epochs = 1
    Runner.from_cfg(cfg).train()
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()
    return dict(
        config=config, checkpoint=osp.join(cfg.work_dir, 'epoch_1.pth'))


@pytest.fixture(scope='module')
def tasks(tmp_path_factory, tiny_image_data):
    """Adapter-only tasks (adapters in the last block) on a stock tiny
    ViT: ``ln2_1`` also trains block 1's ``ln2``, ``plain`` and ``plain2``
    train no norm; ``moved`` trains no norm either, on a stock backbone
    that differs from the first in block 1's ``ln2`` weight alone."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    root = tmp_path_factory.mktemp('put_back_light')
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_IMAGE_CONFIG).model)
    model.init_weights()
    state = model.state_dict()
    stock = str(root / 'stock.pth')
    torch.save({'state_dict': state, 'meta': {}}, stock)
    moved_state = {k: v.clone() for k, v in state.items()}
    moved_state[LN2_KEY] += 0.5
    moved = str(root / 'moved.pth')
    torch.save({'state_dict': moved_state, 'meta': {}}, moved)
    ln2 = [r'^backbone\.layers\.1\.ln2\.']
    return dict(
        ln2_1=_train(root, 'ln2_1', tiny_image_data, stock, ln2, 0),
        plain=_train(root, 'plain', tiny_image_data, stock, [], 1),
        plain2=_train(root, 'plain2', tiny_image_data, stock, [], 2),
        moved=_train(root, 'moved', tiny_image_data, moved, [], 3))


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
    for name in ('plain', 'plain2'):
        alone = ModelInferencer(
            tasks[name]['config'], tasks[name]['checkpoint'], name=name)(
                images)
        for image in images:
            torch.testing.assert_close(
                torch.tensor(results[image][name]['scores']),
                torch.tensor(alone[image][name]['scores']),
                rtol=1e-5,
                atol=1e-7)
