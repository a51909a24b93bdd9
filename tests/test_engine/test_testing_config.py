# Copyright (c) mmadaptformer contributors. All rights reserved.
"""mmadaptformer/engine/testing_config.py on the tiny configs, called as a
library (tools/test.py's flags are tested in tests/test_tools/)."""
import pytest
from helpers import TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG
from mmengine.config import Config

from mmadaptformer.engine.testing_config import (add_dump_metrics, add_tta,
                                                 trigger_visualization_hook)
from mmadaptformer.utils import ConfigError


def test_trigger_visualization_hook_takes_the_flags_as_arguments():
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.default_hooks.visualization = dict(type='VideoVisualizationHook')
    trigger_visualization_hook(
        cfg, TINY_VIDEO_CONFIG, show_dir='shown', wait_time=0.5, interval=3)
    hook = cfg.default_hooks.visualization
    assert (hook.enable, hook.show, hook.out_dir, hook.wait_time,
            hook.interval) == (True, False, 'shown', 0.5, 3)


def test_trigger_visualization_hook_names_the_flag_and_the_file():
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.default_hooks.pop('visualization', None)
    with pytest.raises(ConfigError) as exc:
        trigger_visualization_hook(cfg, TINY_VIDEO_CONFIG, show=True)
    assert str(exc.value).startswith(
        f'--show needs a visualization hook, but `default_hooks` of '
        f'{TINY_VIDEO_CONFIG} has no `visualization` entry.')


def test_add_dump_metrics_appends_one_dump_per_file():
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    evaluator = cfg.test_evaluator
    add_dump_metrics(cfg, ['a.pkl', 'b.pkl'])
    assert cfg.test_evaluator == [
        evaluator,
        dict(type='AtomicDumpResults', out_file_path='a.pkl'),
        dict(type='AtomicDumpResults', out_file_path='b.pkl')
    ]
    before = Config.fromfile(TINY_IMAGE_CONFIG)
    add_dump_metrics(before, [])
    assert before.test_evaluator == evaluator


def test_add_tta_wraps_an_image_model_and_refuses_a_bare_video_config():
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    model = cfg.model
    add_tta(cfg, TINY_IMAGE_CONFIG)
    assert cfg.model.type == 'mmpretrain.AverageClsScoreTTA'
    assert cfg.model.module == model
    assert cfg.test_dataloader.dataset.pipeline[-1].type == 'TestTimeAug'
    video = Config.fromfile(TINY_VIDEO_CONFIG)
    with pytest.raises(ConfigError, match='--tta on the video config '):
        add_tta(video, TINY_VIDEO_CONFIG)
