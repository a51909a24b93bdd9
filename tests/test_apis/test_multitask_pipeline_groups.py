# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tasks of a MultiTaskRecognizer run in pipeline groups: another test
pipeline or another top-level data preprocessor makes another group,
settings that act in training only do not, and each input's answers still
name the tasks in the order asked for."""
from adapter_tasks import val_videos
from helpers import stripes_config, stripes_images
from task_engines import assert_task_scores, task_engine

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer


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
    engine = task_engine(video_tasks, ['last'])
    engine.add_task('one_view', str(config),
                    video_tasks['last2']['checkpoint'])
    engine.add_task('last2', video_tasks['last2']['config'],
                    video_tasks['last2']['checkpoint'])
    assert engine.pipeline_groups == [['last', 'last2'], ['one_view']]
    videos = val_videos(tiny_video_data)[:2]
    results = engine(videos, batch_size=2)
    alone = ModelInferencer(
        str(config), video_tasks['last2']['checkpoint'], name='one_view')(
            videos)
    assert_task_scores(results, alone, 'one_view', videos)
    for path in videos:
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
    engine = task_engine(video_tasks, ['last'])
    engine.add_task('one_view', str(_one_view_config(tmp_path, video_tasks)),
                    video_tasks['last2']['checkpoint'])
    engine.add_task('last2', video_tasks['last2']['config'],
                    video_tasks['last2']['checkpoint'])
    assert engine.pipeline_groups == [['last', 'last2'], ['one_view']]
    video = val_videos(tiny_video_data)[0]
    assert list(engine(video)[video]) == ['last', 'one_view', 'last2']
    for order in (['last2', 'one_view', 'last'], ['one_view', 'last']):
        assert list(engine(video, tasks=order)[video]) == order


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
