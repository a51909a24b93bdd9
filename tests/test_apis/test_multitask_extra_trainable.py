# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tasks that trained backbone modules besides their adapters and head
(``extra_trainable``) on a shared backbone: a module inside a block (the
norm that feeds the block's adapter too), one before the first block (the
patch embedding) and a final norm are served, each task as alone; tensors
the backbone holds itself (``cls_token``, ``pos_embed``) are refused."""
import json
import re

import pytest
import torch
from helpers import load_tool, stripes_config, stripes_images
from stripes_task import train_stripes_tasks
from task_engines import (assert_answers_as_alone, routed_paths, scores_alone,
                          task_engine)

from mmadaptformer.apis import MultiTaskRecognizer, TaskError
from mmadaptformer.models.multitask import STEM, TaskRoutedModule
from mmadaptformer.utils import safe_torch_load

# Each task: the keys it trains besides adapters and head, and the blocks
# with adapters (the last one, or both).
TASKS = dict(
    plain=([], [-1]),
    all=([], [0, 1]),
    ln2_1=([r'^backbone\.layers\.1\.ln2\.'], [-1]),
    ln2_0=([r'^backbone\.layers\.0\.ln2\.'], [-1]),
    patch=([r'^backbone\.patch_embed\.'], [-1]),
    ln1=([r'^backbone\.ln1\.'], [-1]),
    cls=([r'^backbone\.cls_token$'], [-1]),
    pos=([r'^backbone\.pos_embed$'], [-1]),
)


@pytest.fixture(scope='module')
def image_tasks(tmp_path_factory, tiny_image_data):
    """The tasks of :data:`TASKS`, each trained for an epoch (adapter-only
    checkpoints) on one stock tiny ViT."""
    return train_stripes_tasks(
        tmp_path_factory.mktemp('extra_trainable'), tiny_image_data, TASKS)


@pytest.fixture(scope='module')
def alone(image_tasks, tiny_image_data):
    """Each servable task's scores, through its own model."""
    return scores_alone(image_tasks,
                        [n for n in image_tasks if n not in ('cls', 'pos')],
                        stripes_images(tiny_image_data))


def _trained_elements(task):
    state = safe_torch_load(task['checkpoint'])['state_dict']
    return sum(v.numel() for v in state.values() if torch.is_tensor(v))


@pytest.mark.parametrize('order', [('plain', 'ln2_1'), ('ln2_1', 'plain')])
def test_the_norm_that_feeds_an_adapter_is_served_per_task(
        order, image_tasks, alone, tiny_image_data, clean_loggers):
    """'ln2_1' trained layers.1.ln2, the norm whose input block 1's adapter
    takes too: the adapter got one task's rows of it and the forward
    failed. Both tasks split at block 1 and answer as alone; the task
    costs its checkpoint and nothing more."""
    engine = task_engine(image_tasks, order[:1])
    before = engine.num_tensor_elements()
    engine.add_task(order[1], image_tasks[order[1]]['config'],
                    image_tasks[order[1]]['checkpoint'])
    assert engine.streams.split_at == dict(plain=1, ln2_1=1)
    assert routed_paths(engine) == ['backbone.backbone.layers.1.ln2']
    if order[0] == 'plain':
        assert engine.num_tensor_elements() - before == _trained_elements(
            image_tasks['ln2_1'])
    assert_answers_as_alone(engine, alone, stripes_images(tiny_image_data))


# The first task's modules are the shared model's: a later task that did
# not train one runs its own frozen copy, and splits for it.
@pytest.mark.parametrize('order,split_at,then', [
    (('ln2_0', 'all'), dict(ln2_0=1, all=0), dict(ln2_0=1, plain=0)),
    (('all', 'ln2_0'), dict(ln2_0=0, all=0), dict(ln2_0=0, plain=1)),
])
def test_a_norm_trained_in_an_earlier_block_moves_the_split_point(
        order, split_at, then, image_tasks, alone, tiny_image_data,
        clean_loggers):
    """'ln2_0' has adapters in block 1 only, and trained block 0's ln2: it
    splits at block 0 from the tasks that run the shared ln2. 'all' adapts
    block 0 too, whose adapter reads that routed norm, whichever task came
    first; after it, 'plain' shares the ln2 of the first task's model or
    not."""
    engine = task_engine(image_tasks, order)
    assert engine.streams.split_at == split_at
    assert_answers_as_alone(engine, alone, stripes_images(tiny_image_data))
    engine.remove_task('all')
    engine.add_task('plain', image_tasks['plain']['config'],
                    image_tasks['plain']['checkpoint'])
    assert engine.streams.split_at == then
    assert_answers_as_alone(engine, alone, stripes_images(tiny_image_data))


@pytest.mark.parametrize('order', [('plain', 'patch'), ('patch', 'plain')])
def test_a_module_trained_before_the_first_block_splits_at_the_input(
        order, image_tasks, alone, tiny_image_data, clean_loggers):
    """'patch' trained the patch embedding, which runs before the first
    block: one of the tasks (the later) gets its own rows of the backbone's
    input and runs every block in its own stream; only the projection is
    kept per task."""
    engine = task_engine(image_tasks, order[:1])
    before = engine.num_tensor_elements()
    engine.add_task(order[1], image_tasks[order[1]]['config'],
                    image_tasks[order[1]]['checkpoint'])
    assert engine.streams.split_at == {order[0]: 1, order[1]: STEM}
    assert routed_paths(engine) == ['backbone.backbone.patch_embed.projection']
    if order[0] == 'plain':
        assert engine.num_tensor_elements() - before == _trained_elements(
            image_tasks['patch'])
    rows = []
    handle = engine.blocks[0].register_forward_pre_hook(
        lambda module, args: rows.append(args[0].shape[0]))
    images = stripes_images(tiny_image_data)
    assert_answers_as_alone(engine, alone, images)
    handle.remove()
    # Block 0 runs on both tasks' rows: one stream each.
    assert rows == [2 * len(images)]


def test_a_final_norm_is_served_after_the_last_block(image_tasks, alone,
                                                     tiny_image_data,
                                                     clean_loggers):
    engine = task_engine(image_tasks, ['plain', 'ln1', 'ln2_1', 'patch'])
    assert engine.streams.split_at == dict(plain=1, ln1=1, ln2_1=1, patch=STEM)
    assert_answers_as_alone(engine, alone, stripes_images(tiny_image_data))


@pytest.mark.parametrize('name,key', [('cls', 'cls_token'),
                                      ('pos', 'pos_embed')])
def test_tensors_of_the_backbone_itself_are_refused(name, key, image_tasks,
                                                    alone, tiny_image_data,
                                                    clean_loggers):
    """cls_token and pos_embed are the ViT's own tensors: serving them per
    task would take a copy of the whole backbone. Refused, as the first
    task or a later one, before the engine changes."""
    task = image_tasks[name]
    message = (rf"Task '{name}' \(.*\): it trained backbone\.{key} of "
               r'VisionTransformer \(backbone\.backbone\).*whole module.*'
               'Serve it alone')
    engine = MultiTaskRecognizer()
    with pytest.raises(TaskError, match=message):
        engine.add_task(name, task['config'], task['checkpoint'])
    assert engine.tasks == [] and engine.base is None
    engine = task_engine(image_tasks, ['plain'])
    before = engine.num_tensor_elements()
    with pytest.raises(TaskError, match=message):
        engine.add_task(name, task['config'], task['checkpoint'])
    assert engine.tasks == ['plain'] and routed_paths(engine) == []
    assert engine.num_tensor_elements() == before
    engine.add_task('ln2_1', image_tasks['ln2_1']['config'],
                    image_tasks['ln2_1']['checkpoint'])
    assert_answers_as_alone(engine, alone, stripes_images(tiny_image_data))


def test_infer_reports_a_refused_task_and_answers_the_rest(
        image_tasks, alone, tiny_image_data, tmp_path, clean_loggers):
    out = tmp_path / 'r.json'
    args = []
    for name in ('plain', 'cls', 'ln2_1'):
        args += [
            '--task', name, image_tasks[name]['config'],
            image_tasks[name]['checkpoint']
        ]
    images = stripes_images(tiny_image_data)
    code = load_tool('infer.py').main(args + images + ['--out', str(out)])
    assert code == 1
    results = json.loads(out.read_text())
    for image in images:
        assert set(results[image]) == {'plain', 'cls', 'ln2_1'}
        assert 'cls_token' in results[image]['cls']['error']
        for name in ('plain', 'ln2_1'):
            torch.testing.assert_close(
                torch.tensor(results[image][name]['scores']),
                torch.tensor(alone[name][image][name]['scores']),
                rtol=1e-5,
                atol=1e-7)


def test_hooks_of_a_routed_module_see_the_whole_batch():
    """The hooks of the module a TaskRoutedModule replaces run once, on
    every stream's rows; those of a task's own module do not run."""
    from mmadaptformer.models.multitask import TaskStreams
    streams = TaskStreams()
    streams.split_at = dict(a=0, b=0)
    original, own = torch.nn.LayerNorm(4), torch.nn.LayerNorm(4)
    with torch.no_grad():
        own.weight.fill_(2.)
    seen = []
    original.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].shape[0]))
    own.register_forward_pre_hook(lambda module, args: seen.append('own'))
    routed = TaskRoutedModule(streams, dict(a=original), original=original)
    routed.add('b', own)
    streams.begin(['a', 'b'])
    x = torch.randn(3, 4)
    streams.fan_out(x, 0)
    out = routed(torch.cat([x, x]))
    streams.end()
    assert seen == [6]
    torch.testing.assert_close(out[3:], 2 * out[:3])


# Hosts whose own tensors (not in a module between or inside the blocks)
# a task trained: the config lines that make the host and the key's pattern.
HELD_BY_BLOCK_HOLDERS = dict(
    deit_dist_token=("model['backbone']['backbone']['type'] = "
                     "'DistilledVisionTransformer'\n"
                     "model['head'] = dict(type='DeiTClsHead', num_classes=2, "
                     'in_channels=64)\n', r'^backbone\.dist_token$',
                     r'backbone\.dist_token of DistilledVisionTransformer '
                     r'\(backbone\.backbone\)'),
    swin_absolute_pos_embed=(
        "model['backbone']['backbone'] = dict(type='SwinTransformer', "
        'arch=dict(embed_dims=16, depths=[2, 2], num_heads=[1, 2]), '
        'img_size=32, window_size=2, out_indices=(1, ), '
        'use_abs_pos_embed=True)\n'
        "model['neck'] = dict(_delete_=True, type='GlobalAveragePooling')\n"
        "model['head'] = dict(type='LinearClsHead', num_classes=2, "
        'in_channels=32)\n', r'^backbone\.absolute_pos_embed$',
        r'backbone\.absolute_pos_embed of SwinTransformer '
        r'\(backbone\.backbone\)'),
    beit_block_gamma=(
        "model['backbone']['backbone'] = dict(type='BEiTViT', arch=dict("
        'embed_dims=64, num_layers=2, num_heads=2, '
        'feedforward_channels=128), img_size=32, patch_size=16, '
        "layer_scale_init_value=0.1, out_type='avg_featmap', "
        'use_abs_pos_emb=False, use_rel_pos_bias=True)\n',
        r'^backbone\.layers\.1\.gamma_2$',
        r'backbone\.layers\.1\.gamma_2 of BEiTTransformerEncoderLayer '
        r'\(backbone\.backbone\.layers\.1\)'),
)


@pytest.mark.parametrize('case', list(HELD_BY_BLOCK_HOLDERS))
def test_other_hosts_own_tensors_are_refused(case, tmp_path, tiny_image_data,
                                             clean_loggers):
    """DeiT's dist_token and Swin's absolute_pos_embed are the backbone's
    own tensors, as ViT's cls_token; BEiT's gamma_2 is a block's own. A
    task that trained one (adapter-only, as extract_adapters writes it) is
    refused with the key, its module and why, before the engine changes."""
    from adapter_tasks import random_task_checkpoints
    lines, pattern, held = HELD_BY_BLOCK_HOLDERS[case]
    config = stripes_config(
        tmp_path, tiny_image_data,
        lines + "custom_hooks = [dict(type='AdapterHook', "
        f'adapter_only_checkpoint=True, extra_trainable=[{pattern!r}])]\n')
    full, = random_task_checkpoints(config, 'mmpretrain', tmp_path, (1, ))
    # The frozen backbone the task was made on, as its pretrained file.
    stock = str(tmp_path / 'stock.pth')
    torch.save(
        {
            'state_dict': {
                k: v
                for k, v in safe_torch_load(full)['state_dict'].items()
                if k.startswith('backbone.') and 'adaptmlp' not in k
            }
        }, stock)
    with open(config, 'a') as f:
        f.write("model['backbone']['backbone']['init_cfg'] = dict("
                f"type='Pretrained', checkpoint={stock!r}, "
                "prefix='backbone.')\n")
    adapters = str(tmp_path / 'adapters.pth')
    load_tool('model_converters/extract_adapters.py').main(
        [config, full, adapters])
    saved = safe_torch_load(adapters)['meta']['adapter_checkpoint']
    assert any(re.search(pattern, key) for key in saved['saved_keys'])
    engine = MultiTaskRecognizer()
    with pytest.raises(
            TaskError,
            match=rf"^Task 'a' \(.*\): it trained {held}, a tensor of a "
            'module that holds transformer blocks.*Serve it alone'):
        engine.add_task('a', config, adapters)
    assert engine.tasks == [] and engine.base is None


@pytest.mark.parametrize('order', [('plain', 'ln2_1'), ('ln2_1', 'plain')])
def test_a_routed_module_is_plain_again_when_the_task_that_trained_it_goes(
        order, image_tasks, alone, tiny_image_data, clean_loggers):
    """With the task that trained layers.1.ln2 removed, the frozen norm is
    put back as a plain module; the task left and later ones, which
    trained the norm or not, answer as alone, and one that did not train
    it shares the frozen norm."""
    images = stripes_images(tiny_image_data)
    engine = task_engine(image_tasks, order)
    engine.remove_task('ln2_1')
    assert routed_paths(engine) == []
    assert engine.streams.split_at == dict(plain=1)  # its adapter's block
    assert_answers_as_alone(engine, alone, images)
    before = engine.num_tensor_elements()
    engine.add_task('all', image_tasks['all']['config'],
                    image_tasks['all']['checkpoint'])
    if order[0] == 'plain':
        # The shared frozen norm, not a copy of it.
        assert engine.num_tensor_elements() - before == _trained_elements(
            image_tasks['all'])
    before = engine.num_tensor_elements()
    engine.add_task('ln2_1', image_tasks['ln2_1']['config'],
                    image_tasks['ln2_1']['checkpoint'])
    assert engine.num_tensor_elements() - before == _trained_elements(
        image_tasks['ln2_1'])
    assert_answers_as_alone(engine, alone, images)
