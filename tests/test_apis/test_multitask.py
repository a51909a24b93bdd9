# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Many tasks on one frozen backbone: the same scores as each task alone,
one batched forward, a shared prefix computed once, a task's memory."""
import os.path as osp

import pytest
import torch
from helpers import stripes_config, stripes_images
from task_engines import assert_task_scores

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, TaskError
from mmadaptformer.models.multitask import MultiTaskAdaptMLP
from mmadaptformer.utils import safe_torch_load


def _val_videos(data):
    with open(data['val']) as f:
        names = [line.split()[0] for line in f if line.strip()]
    return [osp.join(data['videos'], name) for name in names]


@pytest.fixture(scope='module')
def single(video_tasks, tiny_video_data):
    """Each task run alone, through its own model."""
    videos = _val_videos(tiny_video_data)
    out = {}
    for name in ('full', 'last', 'last2'):
        task = video_tasks[name]
        out[name] = ModelInferencer(task['config'], task['checkpoint'])(
            videos, batch_size=4)
    return out


def _engine(video_tasks, names):
    engine = MultiTaskRecognizer()
    for name in names:
        engine.add_task(name, video_tasks[name]['config'],
                        video_tasks[name]['checkpoint'])
    return engine


def _block_rows(engine):
    """Record the rows each block gets, per call."""
    calls = {i: [] for i in range(len(engine.blocks))}
    handles = [
        block.register_forward_pre_hook(
            lambda m, args, i=i: calls[i].append(args[0].shape[0]))
        for i, block in enumerate(engine.blocks)
    ]
    return calls, handles


def _assert_same(results, single, names):
    for path, answers in results.items():
        assert set(answers) == set(names)
        for name in names:
            expected = single[name][path][name]
            torch.testing.assert_close(
                torch.tensor(answers[name]['scores']),
                torch.tensor(expected['scores']),
                rtol=1e-5,
                atol=1e-7)
            assert answers[name]['label'] == expected['label']


def test_mixed_batch_equals_each_task_alone(video_tasks, tiny_video_data,
                                            single, clean_loggers):
    # 'full' has adapters from block 0, the others in block 1 (the last)
    # only; loaded after 'last', its block-0 adapter gets new hooks there.
    names = ['last', 'full', 'last2']
    engine = _engine(video_tasks, names)
    assert engine.streams.split_at == dict(full=0, last=1, last2=1)
    assert isinstance(engine.blocks[0].adaptmlp, MultiTaskAdaptMLP)
    assert set(engine.blocks[0].adaptmlp.adapters) == {'full'}
    videos = _val_videos(tiny_video_data)
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
    _assert_same(results, single, names)
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
    _assert_same(results, single, ['last', 'last2'])
    engine.add_task('full', video_tasks['full']['config'],
                    video_tasks['full']['checkpoint'])
    _assert_same(engine(videos[:2], batch_size=2), single, names)


def test_tasks_may_be_named_like_module_attributes(video_tasks,
                                                   tiny_video_data, single,
                                                   clean_loggers):
    # torch's ModuleDict refuses these as keys ('train' and 'bfloat16' are
    # Module methods, a dot separates submodules); as task names they work.
    names = {'train': 'full', 'bfloat16': 'last', 'hmdb51.v2': 'last2'}
    engine = MultiTaskRecognizer()
    for name, task in names.items():
        engine.add_task(name, video_tasks[task]['config'],
                        video_tasks[task]['checkpoint'])
    assert set(engine.blocks[1].adaptmlp.adapters) == set(names)
    results = engine(_val_videos(tiny_video_data)[:4], batch_size=4)
    alone = {
        name: {
            path: {
                name: answers[task]
            }
            for path, answers in single[task].items()
        }
        for name, task in names.items()
    }
    _assert_same(results, alone, list(names))
    engine.remove_task('bfloat16')
    assert set(engine.blocks[1].adaptmlp.adapters) == {'train', 'hmdb51.v2'}


def test_a_task_that_fails_to_load_changes_nothing(video_tasks,
                                                   tiny_video_data, single,
                                                   tmp_path, monkeypatch,
                                                   clean_loggers):
    """A first task that fails (here on its test pipeline) leaves no shared
    model behind, so the next task is loaded as the first one; a later task
    that fails halfway leaves the loaded tasks as they were."""
    from helpers import write_config
    videos = _val_videos(tiny_video_data)
    broken = write_config(
        tmp_path / 'broken.py', video_tasks['last']['config'],
        'test_dataloader = dict(dataset=dict(pipeline=[dict(type='
        "'NoSuchTransform')]))\n")
    engine = MultiTaskRecognizer()
    with pytest.raises(TaskError, match="Task 'broken'.*NoSuchTransform"):
        engine.add_task('broken', broken, video_tasks['last']['checkpoint'])
    assert engine.tasks == [] and engine.base is None
    for name in ('full', 'last'):
        engine.add_task(name, video_tasks[name]['config'],
                        video_tasks[name]['checkpoint'])
    _assert_same(engine(videos, batch_size=4), single, ['full', 'last'])

    attach = engine._attach_adapter

    def attach_then_fail(index, name, adapter):
        attach(index, name, adapter)
        raise RuntimeError('injected after attaching an adapter')

    monkeypatch.setattr(engine, '_attach_adapter', attach_then_fail)
    with pytest.raises(TaskError, match="Task 'last2'.*injected"):
        engine.add_task('last2', video_tasks['last2']['config'],
                        video_tasks['last2']['checkpoint'])
    monkeypatch.undo()
    assert engine.tasks == ['full', 'last']
    assert engine.pipeline_groups == [['full', 'last']]
    for module in engine.base.modules():
        if isinstance(module, MultiTaskAdaptMLP):
            assert 'last2' not in module.adapters
    _assert_same(engine(videos, batch_size=4), single, ['full', 'last'])
    engine.add_task('last2', video_tasks['last2']['config'],
                    video_tasks['last2']['checkpoint'])
    _assert_same(
        engine(videos, batch_size=4), single, ['full', 'last', 'last2'])


def test_shared_prefix_is_computed_once(video_tasks, tiny_video_data, single,
                                        clean_loggers):
    engine = _engine(video_tasks, ['last', 'last2'])
    videos = _val_videos(tiny_video_data)[:4]
    calls, handles = _block_rows(engine)
    results = engine(videos, batch_size=4)
    for h in handles:
        h.remove()
    # Block 0 has no adapter of either task: it runs once, on 24 rows.
    assert calls == {0: [24], 1: [48]}
    _assert_same(results, {k: single[k]
                           for k in ('last', 'last2')}, ['last', 'last2'])


def test_a_task_costs_its_adapters_head_and_trained_norm(
        video_tasks, clean_loggers):
    engine = _engine(video_tasks, ['last'])
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


def test_task_on_another_backbone_is_refused(video_tasks, clean_loggers):
    engine = _engine(video_tasks, ['full'])
    with pytest.raises(TaskError) as info:
        engine.add_task('other', video_tasks['other']['config'],
                        video_tasks['other']['checkpoint'])
    message = str(info.value)
    assert "'other'" in message and "'full'" in message
    assert 'another frozen backbone' in message
    assert engine.tasks == ['full']


def test_unknown_task_is_named(video_tasks, tiny_video_data, clean_loggers):
    engine = _engine(video_tasks, ['last'])
    with pytest.raises(KeyError, match=r"\['nope'\].*\['last'\]"):
        engine(_val_videos(tiny_video_data)[:1], tasks=['nope'])


def _one_view_config(tmp_path, video_tasks):
    """'last2' tested on one centre-cropped clip instead of 2 clips x 3
    crops: another pipeline group."""
    config = tmp_path / 'last2_one_view.py'
    config.write_text(
        f"_base_ = [{video_tasks['last2']['config']!r}]\n"
        'test_dataloader = dict(dataset=dict(pipeline=[\n'
        "    dict(type='DecordInit'),\n"
        "    dict(type='SampleFrames', clip_len=4, frame_interval=3,\n"
        '         num_clips=1, test_mode=True),\n'
        "    dict(type='DecordDecode'),\n"
        "    dict(type='Resize', scale=(-1, 32)),\n"
        "    dict(type='CenterCrop', crop_size=32),\n"
        "    dict(type='FormatShape', input_format='NCTHW'),\n"
        "    dict(type='PackActionInputs')]))\n")
    return config


def test_tasks_with_another_test_pipeline_form_their_own_group(
        video_tasks, tiny_video_data, tmp_path, clean_loggers):
    config = _one_view_config(tmp_path, video_tasks)
    engine = _engine(video_tasks, ['last'])
    engine.add_task('one_view', str(config),
                    video_tasks['last2']['checkpoint'])
    engine.add_task('last2', video_tasks['last2']['config'],
                    video_tasks['last2']['checkpoint'])
    assert engine.pipeline_groups == [['last', 'last2'], ['one_view']]
    videos = _val_videos(tiny_video_data)[:2]
    results = engine(videos, batch_size=2)
    alone = ModelInferencer(
        str(config), video_tasks['last2']['checkpoint'], name='one_view')(
            videos)
    for path in videos:
        torch.testing.assert_close(
            torch.tensor(results[path]['one_view']['scores']),
            torch.tensor(alone[path]['one_view']['scores']),
            rtol=1e-5,
            atol=1e-7)
        # One view gives other scores than six.
        assert results[path]['one_view']['scores'] != \
            results[path]['last2']['scores']


def test_results_name_the_tasks_in_the_order_asked_for(video_tasks,
                                                       tiny_video_data,
                                                       tmp_path,
                                                       clean_loggers):
    """Each input's answers follow the order of ``tasks`` (all: the order
    they were added, as ``tools/infer.py --task`` gives them), not the
    pipeline groups' (before: 'last', 'last2', then 'one_view')."""
    engine = _engine(video_tasks, ['last'])
    engine.add_task('one_view', str(_one_view_config(tmp_path, video_tasks)),
                    video_tasks['last2']['checkpoint'])
    engine.add_task('last2', video_tasks['last2']['config'],
                    video_tasks['last2']['checkpoint'])
    assert engine.pipeline_groups == [['last', 'last2'], ['one_view']]
    video = _val_videos(tiny_video_data)[0]
    assert list(engine(video)[video]) == ['last', 'one_view', 'last2']
    for order in (['last2', 'one_view', 'last'], ['one_view', 'last']):
        assert list(engine(video, tasks=order)[video]) == order


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


def test_a_neck_with_weights_is_refused():
    """The shared model's neck runs on every task's rows: one a task could
    have trained cannot be shared."""
    from mmadaptformer.apis.multitask_tasks import check_shared_neck
    model = torch.nn.Module()
    model.neck = torch.nn.Identity()
    check_shared_neck('a', model, 'a.py')
    model.neck = torch.nn.Linear(4, 4)
    with pytest.raises(
            TaskError,
            match=r"Task 'a' \(a\.py\): its neck "
            'Linear holds 20 weights'):
        check_shared_neck('a', model, 'a.py')


def test_several_out_indices_are_refused():
    """The tasks split inside the blocks, so only the last output is laid
    out per task."""
    from mmengine.config import Config

    from mmadaptformer.apis.multitask_tasks import check_servable
    cfg = Config(
        dict(
            model=dict(
                backbone=dict(
                    type='AdaptFormer',
                    backbone=dict(
                        type='VisionTransformer', out_indices=[0, 1])))))
    with pytest.raises(TaskError, match=r'2 out_indices \[0, 1\]'):
        check_servable('a', cfg, 'a.py')
    cfg.model.backbone.backbone.out_indices = [-1]
    check_servable('a', cfg, 'a.py')


def test_tasks_that_trained_other_backbone_modules_share_the_backbone(
        video_tasks, tiny_video_data, single, tmp_path, clean_loggers):
    """'full' trained fc_norm besides its adapters (the video recipe);
    'plain' trained only its adapters and head (the README's config diff),
    on the same backbone. Their digests cover different frozen tensors, so
    the tensors themselves decide: both are served, each as alone."""
    from adapter_tasks import train_task
    plain = train_task(
        str(tmp_path),
        'plain',
        tiny_video_data,
        video_tasks['stock'], "custom_hooks = [dict(type='AdapterHook', "
        'adapter_only_checkpoint=True)]\n',
        seed=4)
    videos = _val_videos(tiny_video_data)
    engine = _engine(video_tasks, ['full'])
    engine.add_task('plain', plain['config'], plain['checkpoint'])
    results = engine(videos, batch_size=4)
    alone = dict(
        full=single['full'],
        plain=ModelInferencer(
            plain['config'], plain['checkpoint'],
            name='plain')(videos, batch_size=4))
    for path in videos:
        for name in ('full', 'plain'):
            torch.testing.assert_close(
                torch.tensor(results[path][name]['scores']),
                torch.tensor(alone[name][path][name]['scores']),
                rtol=1e-5,
                atol=1e-7)
    # A task on another backbone is still refused.
    with pytest.raises(
            TaskError,
            match='another frozen backbone|not trained '
            'on the backbone'):
        engine.add_task('other', video_tasks['other']['config'],
                        video_tasks['other']['checkpoint'])


def test_vpt_tasks_are_refused_by_name(video_tasks, tiny_video_data, tmp_path,
                                       clean_loggers):
    """VPT's prompts are trained tensors of the wrapper itself: they change
    every token from the first block, which no stream can share. Refused
    before anything changes, saying what to do instead."""
    from adapter_tasks import train_task
    vpt = train_task(
        str(tmp_path), 'vpt', tiny_video_data, video_tasks['stock'],
        "model = dict(backbone=dict(_delete_=True, type='VPT', "
        "num_prompts=2, deep=True, backbone=dict(type='VisionTransformer', "
        'img_size=32, patch_size=16, embed_dims=64, depth=2, num_heads=2, '
        'mlp_ratio=2, qkv_bias=True, num_frames=4, tubelet_size=2, '
        "norm_cfg=dict(type='LN', eps=1e-6), init_cfg=dict(type="
        f"'Pretrained', checkpoint={video_tasks['stock']!r}, "
        "prefix='backbone.'))))\n"
        "custom_hooks = [dict(type='AdapterHook', mode='linear_probe', "
        "extra_trainable=[r'prompt_embeddings', r'^backbone\\.fc_norm\\.'], "
        'adapter_only_checkpoint=True)]\n')
    engine = MultiTaskRecognizer()
    with pytest.raises(
            TaskError,
            match=r"Task 'vpt' .*prompt_embeddings of "
            'the VPT wrapper itself.*Serve it alone'):
        engine.add_task('vpt', vpt['config'], vpt['checkpoint'])
    assert engine.tasks == [] and engine.base is None
    # Next to an AdaptFormer task it is another model.
    engine = _engine(video_tasks, ['full'])
    with pytest.raises(TaskError, match='has another model'):
        engine.add_task('vpt', vpt['config'], vpt['checkpoint'])
    assert engine.tasks == ['full']


def test_merged_tasks_that_trained_fc_norm_share_the_backbone(
        video_tasks, tiny_video_data, single, tmp_path, clean_loggers):
    """Merged checkpoints carry no list of trained keys: the config's
    AdapterHook gives it (the recipe's extra_trainable fc_norm). Each
    task's fc_norm was compared as a frozen tensor and the second merged
    task was refused as "not trained on the backbone"."""
    from helpers import load_tool
    merge = load_tool('model_converters/merge_adapters.py').main
    merged = {}
    for name in ('full', 'last'):
        merged[name] = str(tmp_path / f'{name}_merged.pth')
        merge([
            video_tasks[name]['config'], video_tasks[name]['checkpoint'],
            merged[name]
        ])
    videos = _val_videos(tiny_video_data)[:4]
    for order in (('full', 'last'), ('last', 'full')):
        engine = MultiTaskRecognizer()
        for name in order:
            engine.add_task(name, video_tasks[name]['config'], merged[name])
        # An adapter-only task next to merged ones, either way round.
        engine.add_task('last2', video_tasks['last2']['config'],
                        video_tasks['last2']['checkpoint'])
        _assert_same(
            engine(videos, batch_size=4), single, ['full', 'last', 'last2'])


def _serve_preprocessors(tmp_path, data, preprocessors):
    """Tasks 'a' and 'b' of the stripes config, each with its top-level
    data preprocessor, served together: the engine, after checking that
    every task's scores are its own ModelInferencer's."""
    from adapter_tasks import random_task_checkpoints
    from mmengine.config import Config
    config = stripes_config(tmp_path, data)
    checkpoints = random_task_checkpoints(config, 'mmpretrain', tmp_path)
    configs = []
    for name, preprocessor in zip('ab', preprocessors):
        cfg = Config.fromfile(config)
        cfg.model.pop('data_preprocessor', None)
        cfg.data_preprocessor = preprocessor
        configs.append(str(tmp_path / f'{name}.py'))
        cfg.dump(configs[-1])
    engine = MultiTaskRecognizer()
    for name, cfg, ckpt in zip('ab', configs, checkpoints):
        engine.add_task(name, cfg, ckpt)
    images = stripes_images(data)
    results = engine(images, batch_size=4)
    for name, cfg, ckpt in zip('ab', configs, checkpoints):
        assert_task_scores(
            results,
            ModelInferencer(cfg, ckpt, name=name)(images, batch_size=4), name,
            images)
    return engine


STD = [58.395, 57.12, 57.375]


def test_top_level_data_preprocessors_form_their_own_groups(
        tmp_path, tiny_image_data, clean_loggers):
    """mmpretrain configs give the data preprocessor at the top level (the
    model is built with it, as by get_model): two tasks that normalise
    differently were put in one group, and the second ran with the first
    one's preprocessor (labels changed)."""
    engine = _serve_preprocessors(tmp_path, tiny_image_data, [
        dict(num_classes=2, mean=[123.675, 116.28, 103.53], std=STD),
        dict(num_classes=2, mean=[0., 0., 0.], std=STD)
    ])
    assert engine.pipeline_groups == [['a'], ['b']]


def test_training_only_preprocessor_settings_keep_one_group(
        tmp_path, tiny_image_data, clean_loggers):
    """mmpretrain configs give the top-level data preprocessor the
    dataset's ``num_classes`` (and mixing ``batch_augments``), which act in
    training only: image tasks with other class counts ran apart, each
    input decoded and the frozen blocks run once per task."""
    mean = [123.675, 116.28, 103.53]
    mixing = dict(augments=[dict(type='Mixup', alpha=0.8)])
    engine = _serve_preprocessors(tmp_path, tiny_image_data, [
        dict(num_classes=2, mean=mean, std=STD),
        dict(num_classes=5, mean=mean, std=STD, batch_augments=mixing)
    ])
    assert engine.pipeline_groups == [['a', 'b']]


def test_calls_from_two_threads_run_one_at_a_time(video_tasks, tiny_video_data,
                                                  single, clean_loggers):
    """The task streams hold the layout of the forward in progress: two
    threads calling at once broke each other's forward ("Task 'a' is in no
    stream of this forward") before the engine took a lock."""
    import threading
    engine = _engine(video_tasks, ['full', 'last'])
    videos = _val_videos(tiny_video_data)[:2]
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
        _assert_same(results, single, tasks)


def test_an_empty_task_choice_and_an_unnamed_config_are_said_plainly(
        video_tasks, tiny_video_data, clean_loggers):
    from mmengine.config import Config
    engine = _engine(video_tasks, ['full'])
    with pytest.raises(
            ValueError,
            match=r'tasks=\[\] chooses no task; '
            r"give some of \['full'\]"):
        engine(_val_videos(tiny_video_data)[:1], tasks=[])
    # A Config object without a file is named '<Config>', not by its text.
    cfg = Config(Config.fromfile(video_tasks['last']['config']).to_dict())
    cfg.model.backbone.backbone.depth = 3
    with pytest.raises(TaskError) as info:
        engine.add_task('deeper', cfg, video_tasks['last']['checkpoint'])
    assert '<Config>' in str(info.value)
    assert len(str(info.value)) < 1000


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
