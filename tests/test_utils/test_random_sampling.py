# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A validation or test pipeline whose ``SampleFrames`` lacks
``test_mode=True`` samples frames at random: the same video scored
differently on every call (tools/test.py, validation, inference) and only
the pipelines-disagree warning fired, whose advice would have copied the
random sampler into the top-level ``test_pipeline`` too. Now
``init_model`` (so ``ModelInferencer`` and ``add_task``) and the runner of
``tools/test.py`` and ``tools/train.py`` name the key, the transform and
the fix, and the advice never spreads the random sampler."""
import os
import os.path as osp

from config_writers import video_data_cfg, write_config
from helpers import CONFIGS, TINY_VIDEO_CONFIG
from tool_runners import run_tool

#: The tiny video config tested on its training pipeline, as a user who
#: reused it wrote: SampleFrames without test_mode=True.
TRAIN_AS_TEST = 'test_dataloader = dict(dataset=dict(' \
    'pipeline={{_base_.train_pipeline}}))\n'
SAID = 'has no test_mode=True, so it samples frames at random'


def _said(log_records, part=SAID):
    return [r.getMessage() for r in log_records if part in r.getMessage()]


def _video(data):
    return osp.join(data['videos'], sorted(os.listdir(data['videos']))[0])


def test_inference_says_so_and_test_mode_makes_scores_repeat(
        tmp_path, tiny_video_data, log_records):
    """ModelInferencer on the random test pipeline scores one video
    differently from call to call, and one warning names the key, the
    transform and the fix; with the fix the scores repeat exactly and
    nothing is said."""
    from checkpoint_makers import save_stock_video_checkpoint

    from mmadaptformer.apis import ModelInferencer
    checkpoint = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    video = _video(tiny_video_data)
    config = write_config(tmp_path / 'rand.py', TINY_VIDEO_CONFIG,
                          TRAIN_AS_TEST)
    inferencer = ModelInferencer(config, checkpoint)
    scores = {
        tuple(inferencer(video)[video]['rand']['scores'])
        for _ in range(4)
    }
    assert len(scores) > 1, scores
    said = _said(log_records)
    assert said == [
        f'{config}: test_dataloader.dataset.pipeline[1] (SampleFrames) has '
        'no test_mode=True, so it samples frames at random: the same video '
        'scores differently on every call (in tools/test.py and inference). '
        "Add test_mode=True to it (mmaction2's own configs set it in every "
        'validation and test sampler).'
    ], said
    # The same steps, with test_mode=True.
    fixed = write_config(
        tmp_path / 'fixed.py', TINY_VIDEO_CONFIG,
        TRAIN_AS_TEST.replace('train_pipeline', 'val_pipeline'))
    inferencer = ModelInferencer(fixed, checkpoint)
    first, second = (
        inferencer(video)[video]['fixed']['scores'] for _ in range(2))
    assert first == second
    assert len(_said(log_records)) == 1


def test_tools_test_and_validation_say_so(tmp_path, tiny_video_data,
                                          log_records):
    """tools/test.py prints the warning for the test pipeline; a training
    run's runner names the validation pipeline, and the test one that is
    the same list only in the same line."""
    from checkpoint_makers import save_stock_video_checkpoint
    from mmengine.config import Config

    from mmadaptformer.engine import build_runner
    checkpoint = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    config = write_config(
        tmp_path / 'rand.py',
        write_config(tmp_path / 'data.py', TINY_VIDEO_CONFIG,
                     video_data_cfg(tiny_video_data)), TRAIN_AS_TEST)
    proc = run_tool(
        ['test.py', config, checkpoint, '--work-dir', tmp_path / 'w'],
        cwd=tmp_path)
    assert f'{config}: test_dataloader.dataset.pipeline[1] (SampleFrames) ' \
        f'{SAID}' in proc.stdout, proc.stdout[-3000:]
    assert proc.stdout.count(SAID) == 1
    both = write_config(
        tmp_path / 'both.py', str(tmp_path / 'data.py'),
        'val_dataloader = dict(dataset=dict(pipeline='
        '{{_base_.train_pipeline}}))\ntest_dataloader = val_dataloader\n')
    cfg = Config.fromfile(both)
    cfg.work_dir = str(tmp_path / 'work')
    build_runner(cfg)
    said = _said(log_records)
    assert len(said) == 1, said
    assert said[0].startswith(
        f'{both}: val_dataloader.dataset.pipeline[1] (SampleFrames) (and '
        'test_dataloader.dataset.pipeline[1], the same pipeline) '
        f'{SAID}: the same video scores differently on every call (in '
        'validation and in tools/test.py and inference).'), said[0]


def test_disagree_advice_never_spreads_the_random_sampler(tmp_path):
    """The pipelines-disagree advice said "set test_pipeline =
    test_dataloader.dataset.pipeline" for a random dataloader pipeline;
    now it asks for test_mode=True first. Where only the top-level one is
    random, copying the dataloader's (as before) is the fix."""
    from mmengine.config import Config

    from mmadaptformer.utils.pipelines_agreement import pipelines_disagreement
    cfg = Config.fromfile(
        write_config(tmp_path / 'rand.py', TINY_VIDEO_CONFIG, TRAIN_AS_TEST))
    _, message = pipelines_disagreement(cfg, 'cfg')
    assert 'To make them agree, add test_mode=True to test_dataloader.' \
        'dataset.pipeline[1] (SampleFrames) (without it, it samples frames ' \
        'at random), then set test_pipeline = ' \
        'test_dataloader.dataset.pipeline in the config' in message, message
    top = Config.fromfile(
        write_config(tmp_path / 'top.py', TINY_VIDEO_CONFIG,
                     'test_pipeline = {{_base_.train_pipeline}}\n'))
    _, message = pipelines_disagreement(top, 'cfg')
    assert 'To make them agree, set test_pipeline = ' \
        'test_dataloader.dataset.pipeline in the config' in message, message


def test_stock_configs_say_nothing():
    """Guards kept behaviour: the tiny and example video configs (every
    validation and test sampler with test_mode=True) and an image config
    give no message."""
    from mmengine.config import Config

    from mmadaptformer.utils.random_sampling import random_sampling_messages
    for path in (TINY_VIDEO_CONFIG,
                 osp.join(CONFIGS, 'examples',
                          'adaptformer_videomae-vit-b_k400.py'),
                 osp.join(CONFIGS, 'tiny', 'tiny_vit_image.py')):
        cfg = Config.fromfile(path)
        assert list(
            random_sampling_messages(
                cfg, path, ('val_dataloader', 'test_dataloader'))) == []
