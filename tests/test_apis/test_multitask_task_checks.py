# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which tasks a MultiTaskRecognizer takes onto its frozen backbone: those
that trained other backbone modules or were merged share it; a task on
another backbone, a VPT task, a neck with weights and several out_indices
are refused, named, and a task that fails to load changes nothing."""
import pytest
import torch
from adapter_tasks import val_videos
from task_engines import (assert_results_as_alone, assert_task_scores,
                          task_engine)

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, TaskError
from mmadaptformer.models.multitask import MultiTaskAdaptMLP


def test_a_task_that_fails_to_load_changes_nothing(video_tasks,
                                                   tiny_video_data,
                                                   video_tasks_alone, tmp_path,
                                                   monkeypatch, clean_loggers):
    """A first task that fails (here on its test pipeline) leaves no shared
    model behind, so the next task is loaded as the first one; a later task
    that fails halfway leaves the loaded tasks as they were."""
    from helpers import write_config
    videos = val_videos(tiny_video_data)
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
    assert_results_as_alone(
        engine(videos, batch_size=4), video_tasks_alone, ['full', 'last'])

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
    assert_results_as_alone(
        engine(videos, batch_size=4), video_tasks_alone, ['full', 'last'])
    engine.add_task('last2', video_tasks['last2']['config'],
                    video_tasks['last2']['checkpoint'])
    assert_results_as_alone(
        engine(videos, batch_size=4), video_tasks_alone,
        ['full', 'last', 'last2'])


def test_task_on_another_backbone_is_refused(video_tasks, clean_loggers):
    engine = task_engine(video_tasks, ['full'])
    with pytest.raises(TaskError) as info:
        engine.add_task('other', video_tasks['other']['config'],
                        video_tasks['other']['checkpoint'])
    message = str(info.value)
    assert "'other'" in message and "'full'" in message
    assert 'another frozen backbone' in message
    assert engine.tasks == ['full']


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
        video_tasks, tiny_video_data, video_tasks_alone, tmp_path,
        clean_loggers):
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
    videos = val_videos(tiny_video_data)
    engine = task_engine(video_tasks, ['full'])
    engine.add_task('plain', plain['config'], plain['checkpoint'])
    results = engine(videos, batch_size=4)
    alone = dict(
        full=video_tasks_alone['full'],
        plain=ModelInferencer(
            plain['config'], plain['checkpoint'],
            name='plain')(videos, batch_size=4))
    for name in ('full', 'plain'):
        assert_task_scores(results, alone[name], name, videos)
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
    engine = task_engine(video_tasks, ['full'])
    with pytest.raises(TaskError, match='has another model'):
        engine.add_task('vpt', vpt['config'], vpt['checkpoint'])
    assert engine.tasks == ['full']


def test_merged_tasks_that_trained_fc_norm_share_the_backbone(
        video_tasks, tiny_video_data, video_tasks_alone, tmp_path,
        clean_loggers):
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
    videos = val_videos(tiny_video_data)[:4]
    for order in (('full', 'last'), ('last', 'full')):
        engine = MultiTaskRecognizer()
        for name in order:
            engine.add_task(name, video_tasks[name]['config'], merged[name])
        # An adapter-only task next to merged ones, either way round.
        engine.add_task('last2', video_tasks['last2']['config'],
                        video_tasks['last2']['checkpoint'])
        assert_results_as_alone(
            engine(videos, batch_size=4), video_tasks_alone,
            ['full', 'last', 'last2'])


def test_an_empty_task_choice_and_an_unnamed_config_are_said_plainly(
        video_tasks, tiny_video_data, clean_loggers):
    from mmengine.config import Config
    engine = task_engine(video_tasks, ['full'])
    with pytest.raises(
            ValueError,
            match=r'tasks=\[\] chooses no task; '
            r"give some of \['full'\]"):
        engine(val_videos(tiny_video_data)[:1], tasks=[])
    # A Config object without a file is named '<Config>', not by its text.
    cfg = Config(Config.fromfile(video_tasks['last']['config']).to_dict())
    cfg.model.backbone.backbone.depth = 3
    with pytest.raises(TaskError) as info:
        engine.add_task('deeper', cfg, video_tasks['last']['checkpoint'])
    assert '<Config>' in str(info.value)
    assert len(str(info.value)) < 1000
