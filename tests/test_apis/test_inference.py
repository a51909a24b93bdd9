# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One model: the same scores as ``tools/test.py --dump``, for every kind of
checkpoint, and clear per-file errors."""
import pickle

import pytest
import torch
from adapter_tasks import val_videos
from helpers import load_tool, pretrained_cfg, write_config

from mmadaptformer.apis import InferenceInputError, ModelInferencer


@pytest.fixture(scope='module')
def dumped(tmp_path_factory, video_tasks, tiny_video_data):
    """``tools/test.py --dump`` of the ``full`` task (adapter-only)."""
    root = tmp_path_factory.mktemp('dump')
    out = str(root / 'preds.pkl')
    task = video_tasks['full']
    load_tool('test.py').main([
        task['config'], task['checkpoint'], '--work-dir',
        str(root / 'work'), '--dump', out
    ])
    with open(out, 'rb') as f:
        return pickle.load(f)


def test_adapter_only_checkpoint_matches_test_dump(video_tasks,
                                                   tiny_video_data, dumped,
                                                   clean_loggers):
    task = video_tasks['full']
    inferencer = ModelInferencer(task['config'], task['checkpoint'])
    assert inferencer.name == 'full'
    videos = val_videos(tiny_video_data)
    results = inferencer(videos, batch_size=3)
    assert len(dumped) == len(videos) == 8
    for path, expected in zip(videos, dumped):
        got = results[path]['full']
        torch.testing.assert_close(
            torch.tensor(got['scores']),
            expected['pred_score'].float(),
            rtol=1e-6,
            atol=1e-6)
        assert got['label'] == int(expected['pred_score'].argmax())
        assert got['class'] is None


def test_merged_checkpoint_gives_the_same_scores_without_pretrained_file(
        video_tasks, tiny_video_data, tmp_path, clean_loggers):
    task = video_tasks['full']
    merged = str(tmp_path / 'merged.pth')
    load_tool('model_converters/merge_adapters.py').main(
        [task['config'], task['checkpoint'], merged])
    videos = val_videos(tiny_video_data, 2)
    expected = ModelInferencer(task['config'], task['checkpoint'])(videos)
    got = ModelInferencer(task['config'], merged)(videos)
    for path in videos:
        assert got[path]['full']['scores'] == expected[path]['full']['scores']


def test_adapters_on_another_backbone_are_refused(video_tasks, tmp_path,
                                                  clean_loggers):
    # The 'full' adapters, with the config pointing at another backbone.
    task = video_tasks['full']
    cfg = tmp_path / 'wrong.py'
    cfg.write_text(f'_base_ = [{task["config"]!r}]\n'
                   'model = dict(backbone=dict(backbone=dict(init_cfg=dict('
                   f"checkpoint={video_tasks['root'] + '/other.pth'!r}))))\n")
    with pytest.raises(Exception) as info:
        ModelInferencer(str(cfg), task['checkpoint'])
    assert task['checkpoint'] in str(info.value)
    assert 'frozen' in str(info.value)


def test_adapters_of_another_layout_are_named_not_the_backbone(
        video_tasks, clean_loggers):
    """The 'last' adapters (last block only) with the 'full' config
    (adapters in every block), on the right backbone: the error is about
    the adapters, not 'a different frozen backbone'."""
    with pytest.raises(RuntimeError) as info:
        ModelInferencer(video_tasks['full']['config'],
                        video_tasks['last']['checkpoint'])
    text = str(info.value)
    # Before anything loads, in tools/test.py's words.
    assert text.startswith(
        f'{video_tasks["last"]["checkpoint"]}: Adapter-only checkpoint does '
        'not fit this model: 4 missing trainable keys '
        "['backbone.blocks.0.adaptmlp"), text
    assert 'It was saved with other adapter settings: layers' in text, text
    assert 'frozen backbone' not in text


def test_adapter_only_checkpoint_with_the_stock_config_is_named(
        video_tasks, clean_loggers):
    """The adapter-only checkpoint given with the stock config (no
    adapters): tools/test.py's diagnosis, not "another architecture"."""
    from helpers import TINY_VIDEO_CONFIG
    checkpoint = video_tasks['full']['checkpoint']
    with pytest.raises(RuntimeError) as info:
        ModelInferencer(TINY_VIDEO_CONFIG, checkpoint)
    text = str(info.value)
    assert text.startswith(
        f'{checkpoint} (config {TINY_VIDEO_CONFIG}) is an adapter-only '
        'checkpoint (it holds what trained, not the frozen backbone), and '
        'the model Recognizer3D lacks'), text
    assert 'Use the config it was trained with' in text
    assert 'another architecture' not in text


def test_linear_probe_checkpoint_on_adapters_is_named(video_tasks, tmp_path,
                                                      clean_loggers):
    """An adapter-only checkpoint saved in mode 'linear_probe' holds no
    adapters; on a config with adapters the error says why."""
    from mmadaptformer.engine import ADAPTER_META_KEY
    from mmadaptformer.utils import safe_torch_load
    ckpt = safe_torch_load(video_tasks['full']['checkpoint'])
    info = ckpt['meta'][ADAPTER_META_KEY]
    ckpt['state_dict'] = {
        k: v
        for k, v in ckpt['state_dict'].items() if 'adaptmlp' not in k
    }
    info['saved_keys'] = [k for k in info['saved_keys'] if 'adaptmlp' not in k]
    info['mode'] = 'linear_probe'
    path = str(tmp_path / 'probe.pth')
    torch.save(ckpt, path)
    with pytest.raises(
            RuntimeError,
            match="mode 'linear_probe'.*cannot be "
            'restored on a model with adapters'):
        ModelInferencer(video_tasks['full']['config'], path)


def test_class_names_saved_as_a_string(tmp_path):
    """A label map's path in dataset_meta is not read (a checkpoint could
    name any local file, see test_inputs.py): the config names the
    classes; another string is not taken as one name per character."""
    from mmengine.config import Config

    from mmadaptformer.apis import class_names
    cfg = Config(dict(test_dataloader=dict(dataset=dict(classes=['x', 'y']))))
    labels = tmp_path / 'labels.txt'
    labels.write_text('left\nright\n')
    meta = dict(dataset_meta=dict(classes=str(labels)))
    assert class_names(cfg, meta=meta, num_classes=2) == ['x', 'y']
    meta = dict(dataset_meta=dict(classes='ab'))
    assert class_names(cfg, meta=meta, num_classes=2) == ['x', 'y']


def test_inputs_are_named_in_errors(video_tasks, tmp_path, clean_loggers):
    task = video_tasks['full']
    inputs = ModelInferencer(task['config'], task['checkpoint']).inputs
    with pytest.raises(InferenceInputError, match='missing.mp4: no such'):
        inputs(str(tmp_path / 'missing.mp4'))


def test_folders_take_every_video_container_and_count_the_rest(
        video_tasks, tiny_video_data, tmp_path, clean_loggers):
    """.ts and .3gp are videos decord reads (here an mp4 under those names,
    as ffmpeg finds the format from the content); other files in a folder
    are left out with a warning that counts them."""
    import logging
    import shutil

    from mmengine.logging import MMLogger

    from mmadaptformer.apis import collect_inputs
    video = val_videos(tiny_video_data)[0]
    for name in ('clip.ts', 'clip.3gp'):
        shutil.copy(video, tmp_path / name)
    (tmp_path / 'notes.txt').write_text('not a video\n')
    (tmp_path / 'labels.json').write_text('{}\n')
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        files = collect_inputs([str(tmp_path)])
    finally:
        logger.removeHandler(handler)
    assert files == [str(tmp_path / 'clip.3gp'), str(tmp_path / 'clip.ts')]
    assert any('left out 2 files' in r.getMessage() for r in records)
    task = video_tasks['full']
    results = ModelInferencer(task['config'], task['checkpoint'])(
        files + [video])
    for path in files:
        assert results[path]['full']['scores'] == \
            results[video]['full']['scores']


def test_progress_bar_is_quiet_in_ci(monkeypatch):
    from mmadaptformer.apis import progress_bar
    monkeypatch.setenv('CI', 'true')
    assert progress_bar(10) is None
    monkeypatch.delenv('CI')
    # pytest captures stderr: not a terminal.
    assert progress_bar(10) is None


def test_mmaction2_inferencer_scores_one_centre_view(video_tasks,
                                                     tiny_video_data,
                                                     clean_loggers):
    """MMAction2's ActionRecogInferencer replaces ThreeCrop/TenCrop with
    CenterCrop and, for Recognizer3D, samples one clip: one view instead of
    the config's 2 clips x 3 crops. With that pipeline our scores equal its
    scores; with the config's views they equal tools/test.py's."""
    from mmaction.apis.inferencers import ActionRecogInferencer
    from mmengine.config import Config
    task = video_tasks['full']
    video = val_videos(tiny_video_data)[0]
    upstream = ActionRecogInferencer(
        model=task['config'], weights=task['checkpoint'], device='cpu')(
            video, return_datasamples=True)['predictions'][0].pred_score
    cfg = Config.fromfile(task['config'])
    pipeline = cfg.test_dataloader.dataset.pipeline
    for transform in pipeline:
        if transform['type'] == 'ThreeCrop':
            transform['type'] = 'CenterCrop'
        if transform['type'] == 'SampleFrames':
            transform['num_clips'] = 1
    cfg.test_dataloader.dataset.pipeline = pipeline
    one_view = ModelInferencer(cfg, task['checkpoint'], name='x')([video])
    all_views = ModelInferencer(task['config'], task['checkpoint'])([video])
    torch.testing.assert_close(
        torch.tensor(one_view[video]['x']['scores']),
        upstream.float(),
        rtol=1e-6,
        atol=1e-6)
    assert not torch.allclose(
        torch.tensor(all_views[video]['full']['scores']), upstream.float())


def test_scores_do_not_depend_on_the_batch(tmp_path, clean_loggers):
    """The tiny image config's test pipeline does not resize: images of two
    sizes in one batch were padded to the larger one by the data
    preprocessor, so the smaller image's scores changed with the batch."""
    import cv2
    import numpy as np
    from helpers import TINY_IMAGE_CONFIG
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_IMAGE_CONFIG).model)
    model.init_weights()
    ckpt = str(tmp_path / 'vit.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    rng = np.random.default_rng(0)
    images = []
    for size in (32, 64):
        images.append(str(tmp_path / f'{size}.png'))
        cv2.imwrite(images[-1],
                    rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    engine = ModelInferencer(TINY_IMAGE_CONFIG, ckpt, name='vit')
    alone = engine(images, batch_size=1)
    together = engine(images, batch_size=2)
    for image in images:
        assert together[image]['vit']['scores'] == \
            alone[image]['vit']['scores'], image


@pytest.mark.parametrize('trained_on', ['linear_probe_config', 'vpt_config'])
def test_linear_probe_checkpoint_on_prompts_is_named_not_the_backbone(
        trained_on, tmp_path, clean_loggers):
    """A 'linear_probe' adapter-only checkpoint without the prompts (of the
    linear-probe baseline, or of a VPT config whose prompts stayed
    frozen), given with a VPT config on the backbone it was trained on:
    the error names the prompts it lacks. The prompts used to be counted
    as frozen tensors and the error blamed 'a different frozen backbone'.
    """
    from helpers import (TINY_VIDEO_CONFIG, save_stock_video_checkpoint,
                         write_config)
    from mmengine.config import Config

    from mmadaptformer.apis import init_model
    from mmadaptformer.engine import (build_model_and_plan,
                                      make_adapter_checkpoint)
    from mmadaptformer.utils.fingerprint import state_fingerprints
    from mmadaptformer.utils.state_dict_check import StateDictMismatchError
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock, seed=0)
    host = Config.fromfile(TINY_VIDEO_CONFIG).model.backbone.to_dict()
    host['init_cfg'] = dict(
        type='Pretrained', checkpoint=stock, prefix='backbone.')

    def config(name, vpt, extra_trainable):
        backbone = dict(type='VPT', backbone=host, num_prompts=2) \
            if vpt else host
        return write_config(
            tmp_path / f'{name}.py', TINY_VIDEO_CONFIG,
            f'model = dict(backbone=dict(_delete_=True, **{backbone!r}))\n'
            "custom_hooks = [dict(type='AdapterHook', mode='linear_probe', "
            f'extra_trainable={extra_trainable!r}, '
            'adapter_only_checkpoint=True)]\n')

    trained_cfg = config(trained_on, trained_on == 'vpt_config', [])
    torch.manual_seed(1)
    model, plan = build_model_and_plan(Config.fromfile(trained_cfg))
    frozen = set(plan.frozen_keys)
    fingerprints = state_fingerprints(
        (k, v) for k, v in model.state_dict().items() if k in frozen)
    probe = str(tmp_path / 'probe.pth')
    torch.save(
        make_adapter_checkpoint(
            dict(state_dict=model.state_dict(), meta={}),
            plan,
            fingerprints,
            model=model), probe)
    vpt_cfg = config('vpt', True, [r'prompt_embeddings'])
    with pytest.raises(StateDictMismatchError) as info:
        init_model(vpt_cfg, probe)
    text = str(info.value)
    assert text.startswith(f'{probe}: Adapter-only checkpoint does not fit '
                           'this model: 1 missing trainable key '
                           "['backbone.prompt_embeddings']. It was saved in "
                           "AdapterHook mode 'linear_probe'"), text
    assert "the model's prompts (1 tensor, e.g. backbone.prompt_embeddings)" \
        ' stayed at their random initialisation' in text, text
    assert 'cannot be restored on a model with prompts' in text
    assert 'frozen backbone' not in text


def test_a_damaged_pretrained_file_is_told_from_a_damaged_checkpoint(
        video_tasks, tmp_path, clean_loggers):
    """The pretrained file an adapter-only checkpoint leaves out is read
    before the checkpoint loads: a damaged one raises PretrainedLoadError
    (add_task a TaskLoadError from it), naming the file and its key, where
    the same CheckpointLoadError as a damaged checkpoint's came out of the
    checkpoint's load. A checkpoint refused for its own settings is
    refused before the file is read."""
    from mmadaptformer.apis import (MultiTaskRecognizer, PretrainedLoadError,
                                    TaskLoadError)
    from mmadaptformer.utils import CheckpointLoadError
    task = video_tasks['full']
    damaged = str(tmp_path / 'damaged.pth')
    with open(video_tasks['stock'], 'rb') as f:
        data = f.read()
    with open(damaged, 'wb') as f:
        f.write(data[:len(data) // 2])
    config = write_config(tmp_path / 'cfg.py', task['config'],
                          pretrained_cfg(damaged))
    key = 'model.backbone.backbone.init_cfg.checkpoint'
    with pytest.raises(PretrainedLoadError) as info:
        ModelInferencer(config, task['checkpoint'])
    assert (info.value.path, info.value.key) == (damaged, key)
    assert isinstance(info.value.__cause__, CheckpointLoadError)
    assert str(info.value).startswith(
        f'{damaged} ({key}), the pretrained weights of the frozen backbone, '
        f'which {task["checkpoint"]} leaves out, could not be loaded: '
        f'CheckpointLoadError: Checkpoint file {damaged} '), str(info.value)
    engine = MultiTaskRecognizer()
    with pytest.raises(TaskLoadError, match="^Task 'a': Pretrained") as info:
        engine.add_task('a', config, task['checkpoint'])
    assert isinstance(info.value.__cause__, PretrainedLoadError)
    assert engine.tasks == []
    # The same file as the checkpoint: raised as it is.
    with pytest.raises(CheckpointLoadError, match=f'file {damaged} '):
        ModelInferencer(task['config'], damaged)
    other_scale = write_config(
        tmp_path / 'scale.py', config,
        'model = dict(backbone=dict(adapter=dict(scale=0.37)))\n')
    with pytest.raises(
            Exception,
            match=r'scale \(model\.backbone\.adapter\.scale\)') as info:
        ModelInferencer(other_scale, task['checkpoint'])
    assert not isinstance(info.value, PretrainedLoadError)


def test_a_test_cfg_key_the_recognizer_ignores_is_refused_on_every_path(
        video_tasks, tmp_path, clean_loggers):
    """``model.test_cfg.average_clips`` is where mmaction2 0.x read it; 1.x
    ignores it there without a word. ``init_model``, the inferencer and
    every task of the multi-task engine (a later one loads only its parts)
    name it before any checkpoint is read."""
    from mmadaptformer.apis import MultiTaskRecognizer, TaskError, init_model
    from mmadaptformer.utils import ConfigError
    task = video_tasks['last']
    config = write_config(
        tmp_path / 'moved.py', task['config'],
        "model = dict(test_cfg=dict(average_clips='prob'))\n")
    line = (f'{config}: model.test_cfg.average_clips: Recognizer3D does not '
            'read test_cfg.average_clips; mmaction2 1.x reads it as '
            'model.cls_head.average_clips')
    gone = str(tmp_path / 'unread.pth')  # would fail if it were read
    with open(gone, 'wb'):
        pass
    for build in (lambda: init_model(config, gone),
                  lambda: ModelInferencer(config, gone)):
        with pytest.raises(ConfigError) as e:
            build()
        assert str(e.value).startswith(line)
    engine = MultiTaskRecognizer()
    engine.add_task('full', video_tasks['full']['config'],
                    video_tasks['full']['checkpoint'])
    with pytest.raises(TaskError) as e:
        engine.add_task('moved', config, task['checkpoint'])
    assert isinstance(e.value.__cause__, ConfigError)
    assert str(e.value.__cause__).startswith(line)
    assert engine.tasks == ['full']


def test_an_inferencer_without_a_checkpoint_is_refused(tmp_path,
                                                       clean_loggers):
    """``ModelInferencer(config)`` answered with a random head on a random
    (not even the pretrained) backbone. ``init_model`` still builds the
    model as mmaction2's ``init_recognizer`` does: its weights as built."""
    from helpers import TINY_VIDEO_CONFIG

    from mmadaptformer.apis import init_model
    for call in (lambda: ModelInferencer(TINY_VIDEO_CONFIG),
                 lambda: ModelInferencer(TINY_VIDEO_CONFIG, None)):
        with pytest.raises(ValueError) as error:
            call()
        assert str(error.value) == (
            f'{TINY_VIDEO_CONFIG}: ModelInferencer got no checkpoint; give '
            "the trained model's checkpoint (a full, merged or adapter-only "
            '.pth file, or an http(s):// address) as checkpoint=. Without '
            'one the head and adapters are random and the backbone is not '
            'even the pretrained one.')
    model, meta = init_model(TINY_VIDEO_CONFIG)
    assert meta == {} and not model.training


def test_per_view_scores_are_refused_on_every_path(video_tasks, tmp_path,
                                                   clean_loggers):
    """With ``average_clips=None`` the head keeps one row of scores per
    test view: the inferencer answered ``label 2`` for a two-class model
    (the argmax of the flattened 6 x 2 matrix), the multi-task engine too.
    Refused before any checkpoint is read, set or left to the head's
    default (None for TimeSformerHead); 'prob' and 'score' answer."""
    from helpers import TINY_VIDEO_CONFIG

    from mmadaptformer.apis import MultiTaskRecognizer, TaskError, init_model
    from mmadaptformer.utils import ConfigError
    task = video_tasks['last']
    key = 'model.cls_head.average_clips'
    tail = ('keeps one row of class scores per test view, so an input gets '
            'no one label; inference needs the views averaged. Set '
            f"{key}='prob' (the mean of the views' softmax) or 'score' (the "
            'mean of their raw scores).')
    none = write_config(tmp_path / 'none.py', task['config'],
                        'model = dict(cls_head=dict(average_clips=None))\n')
    unset = write_config(
        tmp_path / 'unset.py', TINY_VIDEO_CONFIG,
        "model = dict(cls_head=dict(_delete_=True, type='TimeSformerHead', "
        'num_classes=2, in_channels=64))\n')
    lines = {
        none:
        f'{none}: {key}: average_clips=None {tail}',
        unset: (f'{unset}: {key} is not set, and TimeSformerHead then takes '
                f'None, which {tail}'),
    }
    gone = str(tmp_path / 'unread.pth')  # would fail if it were read
    with open(gone, 'wb'):
        pass
    engine = MultiTaskRecognizer()
    for config, line in lines.items():
        for build in (lambda: init_model(config, gone),
                      lambda: ModelInferencer(config, gone),
                      lambda: engine.add_task('t', config, gone)):
            with pytest.raises((ConfigError, TaskError)) as error:
                build()
            cause = error.value.__cause__ if isinstance(
                error.value, TaskError) else error.value
            assert isinstance(cause, ConfigError)
            assert str(cause) == line
    # A later task (which loads only its parts) is refused too.
    engine.add_task('full', video_tasks['full']['config'],
                    video_tasks['full']['checkpoint'])
    with pytest.raises(TaskError) as error:
        engine.add_task('none', none, task['checkpoint'])
    assert str(error.value.__cause__) == lines[none]
    assert engine.tasks == ['full']
    score = write_config(
        tmp_path / 'score.py', task['config'],
        "model = dict(cls_head=dict(average_clips='score'))\n")
    assert init_model(score, task['checkpoint'])[0].cls_head.average_clips \
        == 'score'
