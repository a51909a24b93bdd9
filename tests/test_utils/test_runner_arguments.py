# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An argument a class the Runner builds does not take: the hooks, the
metrics, the visualizer and its backends, the log processor and the
schedulers, named before the Runner; what MMEngine reads itself, and a
class that may use its ``**kwargs``, pass."""
import glob
import os.path as osp

import mmaction
import pytest
from mmengine.config import Config
from mmengine.registry import PARAM_SCHEDULERS
from repo_paths import TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.registry_names import use_default_scope
from mmadaptformer.utils.runner_arguments import (check_arguments,
                                                  check_runner_arguments,
                                                  taken_arguments)
from mmadaptformer.utils.scheduler_check import check_param_scheduler

EVALUATORS = ['val_evaluator', 'test_evaluator']


def _refusal(config: str, options: dict) -> str:
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    with pytest.raises(ConfigError) as info:
        check_runner_arguments(cfg, config, options, EVALUATORS)
    return str(info.value)


@pytest.mark.parametrize('option,refusal', [
    ('default_hooks.logger.intervall', 'LoggerHook takes no argument '
     "'intervall' (did you mean 'interval' or 'interval_exp_name'?)."),
    ('val_evaluator.topkk', "Accuracy takes no argument 'topkk' (did you "
     "mean 'topk'?)."),
    ('visualizer.vis_backendss', 'UniversalVisualizer takes no argument '
     "'vis_backendss' (did you mean 'vis_backends'?)."),
    ('visualizer.vis_backends.0.save_dirr', 'LocalVisBackend takes no '
     "argument 'save_dirr' (did you mean 'save_dir' or 'img_save_dir'?)."),
    ('log_processor.window_sizee', 'LogProcessor takes no argument '
     "'window_sizee' (did you mean 'window_size'?)."),
])
def test_each_built_class_names_the_option(option, refusal):
    options = {option: 5}
    assert _refusal(TINY_IMAGE_CONFIG,
                    options) == (f'--cfg-options {option}=5: {refusal}')


def test_a_custom_hook_and_a_test_metric_of_a_video_config():
    config = TINY_VIDEO_CONFIG
    cfg = Config.fromfile(config)
    cfg.custom_hooks = [dict(type='SyncBuffersHook', intervall=2)]
    with pytest.raises(
            ConfigError,
            match=rf'^{config}: custom_hooks\[0\]\.intervall: '
            "SyncBuffersHook takes no argument 'intervall'."):
        check_runner_arguments(cfg, config, None, ['test_evaluator'])
    cfg = Config.fromfile(config)
    cfg.test_evaluator = [dict(type='AccMetric', metric_lists=['x'])]
    with pytest.raises(
            ConfigError,
            match=rf'^{config}: test_evaluator\[0\]\.metric_lists: '
            "AccMetric takes no argument 'metric_lists' \\(did "
            "you mean 'metric_list' or 'metric_options'\\?\\)."):
        check_runner_arguments(cfg, config, None, ['test_evaluator'])
    # The validation's evaluator is not read by a tool that only tests.
    cfg = Config.fromfile(config)
    cfg.val_evaluator = dict(type='AccMetric', metric_lists=['x'])
    check_runner_arguments(cfg, config, None, ['test_evaluator'])


def test_what_mmengine_reads_itself_passes():
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.custom_hooks = [dict(type='EMAHook', priority='ABOVE_NORMAL')]
    cfg.visualizer.vis_backends[0]['name'] = 'local'
    check_runner_arguments(cfg, TINY_IMAGE_CONFIG, None, EVALUATORS)
    use_default_scope(cfg)
    check_arguments(
        'param_scheduler[0]',
        dict(
            type='CosineAnnealingLR',
            by_epoch=True,
            convert_to_iter_based=True,
            epoch_length=4),
        PARAM_SCHEDULERS,
        TINY_IMAGE_CONFIG,
        builder_keys=('convert_to_iter_based', 'epoch_length'))


def test_kwargs_that_may_be_used_otherwise_are_left_to_the_runner():
    """EMAHook gives its ``**kwargs`` to its average's type."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.custom_hooks = [dict(type='EMAHook', momentumm=0.1)]
    check_runner_arguments(cfg, TINY_IMAGE_CONFIG, None, EVALUATORS)
    from mmengine.hooks import CheckpointHook, EMAHook
    assert taken_arguments(EMAHook) is None
    assert taken_arguments(CheckpointHook) is None


def test_a_scheduler_is_read_through_mmengines_mixins():
    from mmengine.optim import CosineAnnealingLR, CosineAnnealingParamScheduler

    # The mixin's own (optimizer) and the scheduler's; param_name, which
    # the mixin fills, is left to the Runner.
    assert set(taken_arguments(CosineAnnealingLR)) == set(
        taken_arguments(CosineAnnealingParamScheduler))
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.param_scheduler[0]['eta_minn'] = 0.
    with pytest.raises(ConfigError) as info:
        check_param_scheduler(cfg, TINY_IMAGE_CONFIG)
    assert str(info.value) == (
        f'{TINY_IMAGE_CONFIG}: param_scheduler[0].eta_minn: '
        "CosineAnnealingLR takes no argument 'eta_minn' (did you mean "
        "'eta_min' or 'eta_min_ratio'?).")


@pytest.mark.parametrize('folder', ['recognition/videomae', 'recognition/tsn'])
def test_stock_mmaction2_recipes_pass(folder):
    root = osp.join(osp.dirname(mmaction.__file__), '.mim', 'configs', folder)
    configs = sorted(glob.glob(osp.join(root, '*.py')))
    assert configs
    for config in configs:
        cfg = Config.fromfile(config)
        check_runner_arguments(cfg, config, None, EVALUATORS)
        check_param_scheduler(cfg, config)
