# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A video config whose ``test_dataloader.dataset.pipeline`` differs from
its top-level ``test_pipeline`` (a child config that sets only
``test_dataloader``, or ``--cfg-options test_dataloader.dataset.pipeline``):
mmaction2's ``inference_recognizer`` reads the second, our tools and
``ModelInferencer`` the first, and the two scored the same video
differently without a word. Now ``init_model`` and the runner of
``tools/test.py`` and ``tools/train.py`` say so, once."""
import os
import os.path as osp

from config_writers import video_data_cfg, write_config
from helpers import CONFIGS, TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG

#: The tiny video config's test pipeline with one centre clip of
#: consecutive frames in place of 2 clips x 3 crops.
ONE_CLIP = """test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=4, frame_interval=1, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')]))
"""
SAID = 'test_dataloader.dataset.pipeline differs from the top-level ' \
    'test_pipeline'


def _said(log_records):
    return [r.getMessage() for r in log_records if SAID in r.getMessage()]


def test_init_model_says_inference_recognizer_scores_otherwise(
        tmp_path, tiny_video_data, log_records):
    """The child config sets only the test dataloader's pipeline: mmaction2's
    inference_recognizer on init_model's model and ModelInferencer give
    other scores for one video, and one warning (not one per model) names
    the key, the step that differs, who reads which and the fix."""
    from checkpoint_makers import save_stock_video_checkpoint
    from mmaction.apis import inference_recognizer

    from mmadaptformer.apis import ModelInferencer, init_model
    checkpoint = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    config = write_config(tmp_path / 'child.py', TINY_VIDEO_CONFIG, ONE_CLIP)
    video = osp.join(tiny_video_data['videos'],
                     sorted(os.listdir(tiny_video_data['videos']))[0])
    model, _ = init_model(config, checkpoint)
    theirs = inference_recognizer(model, video).pred_score.tolist()
    ours = ModelInferencer(config, checkpoint)(video)[video]['child']
    assert max(abs(a - b) for a, b in zip(theirs, ours['scores'])) > 1e-4
    said = _said(log_records)
    assert len(said) == 1, said
    assert said[0].startswith(f'{config}: '), said[0]
    for part in ('SampleFrames(frame_interval=1, num_clips=1) against '
                 'SampleFrames(frame_interval=3, num_clips=2)',
                 'inference_recognizer', 'ModelInferencer',
                 'set test_pipeline = test_dataloader.dataset.pipeline'):
        assert part in said[0], said[0]


def test_the_test_runner_says_so_for_cfg_options(tmp_path, tiny_video_data,
                                                 log_records):
    """``tools/test.py --cfg-options test_dataloader.dataset.pipeline.1.
    num_clips=1`` changes one of the two: the runner it builds says so."""
    from mmengine.config import Config

    from mmadaptformer.engine import build_runner
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({'test_dataloader.dataset.pipeline.1.num_clips': 1})
    cfg.work_dir = str(tmp_path / 'work')
    build_runner(cfg)
    said = _said(log_records)
    assert len(said) == 1 and 'SampleFrames(num_clips=1) against '\
        'SampleFrames(num_clips=2)' in said[0], said


def test_agreeing_or_single_pipelines_and_image_configs_say_nothing(tmp_path):
    """Guards kept behaviour: the stock config (one list under both keys),
    both keys changed alike, a config with only one of them, and an
    MMPretrain config (its ImageClassificationInferencer reads the
    dataloader's pipeline, as ours do) give no message; nor does a config
    whose top-level steps only carry the ``_scope_`` of the mmaction2
    config it inherits."""
    from mmengine.config import Config

    from mmadaptformer.utils.pipelines_agreement import pipelines_disagreement
    stock = Config.fromfile(TINY_VIDEO_CONFIG)
    assert pipelines_disagreement(stock, 'cfg') is None
    # Inherited from mmaction2's config: MMEngine marks the top-level
    # steps with _scope_='mmaction', not the dataloader's.
    example = Config.fromfile(
        osp.join(CONFIGS, 'examples', 'adaptformer_videomae-vit-b_k400.py'))
    assert pipelines_disagreement(example, 'cfg') is None
    both = Config.fromfile(TINY_VIDEO_CONFIG)
    both.merge_from_dict({
        'test_dataloader.dataset.pipeline.1.num_clips': 1,
        'test_pipeline.1.num_clips': 1
    })
    assert pipelines_disagreement(both, 'cfg') is None
    alone = Config.fromfile(TINY_VIDEO_CONFIG)
    alone.test_pipeline = None
    assert pipelines_disagreement(alone, 'cfg') is None
    image = Config.fromfile(TINY_IMAGE_CONFIG)
    image.test_pipeline = [dict(type='LoadImageFromFile')]
    assert pipelines_disagreement(image, 'cfg') is None
    child = Config.fromfile(
        write_config(tmp_path / 'child.py', TINY_VIDEO_CONFIG, ONE_CLIP))
    assert pipelines_disagreement(child, 'cfg')[0] == \
        'test_dataloader.dataset.pipeline'
