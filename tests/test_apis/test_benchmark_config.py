# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``benchmark_inference`` refuses a config whose model is not an
AdaptFormer one with a :class:`ConfigError` that names
``model.backbone.type``, as ``benchmark_infer.py`` does on the command
line; it ended in ``AttributeError: 'ConfigDict' object has no attribute
'backbone'`` (the stock tiny video config's backbone has no inner one)."""
import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG)
from mmengine.config import Config

from mmadaptformer.apis.benchmark import benchmark_inference
from mmadaptformer.utils import ConfigError


@pytest.mark.parametrize('config,backbone',
                         [(TINY_VIDEO_CONFIG, 'VisionTransformer'),
                          (TINY_IMAGE_CONFIG, 'VisionTransformer')])
def test_a_config_of_another_model_is_refused_before_anything_is_built(
        config, backbone, tmp_path, clean_loggers):
    with pytest.raises(ConfigError) as refused:
        benchmark_inference(
            Config.fromfile(config), str(tmp_path), num_tasks=[1], repeat=1)
    assert str(refused.value) == (
        f'model.backbone is {backbone}, but benchmark_inference measures '
        "AdaptFormer tasks: expected model.backbone.type='AdaptFormer' (an "
        'AdaptFormer config with an AdapterHook).')
    # Nothing was written: no task checkpoint, no stock backbone.
    assert not any(tmp_path.iterdir())


def test_a_config_without_a_backbone_is_refused(tmp_path):
    with pytest.raises(ConfigError, match='model.backbone is None, but '):
        benchmark_inference(
            Config(dict(model=dict(type='Recognizer3D'))), str(tmp_path))


def test_an_adaptformer_config_without_an_adapter_hook_is_refused(
        tmp_path, clean_loggers):
    """Which parts a task trains is the AdapterHook's to say; without one,
    ``benchmark_inference`` went on to write tasks (benchmark_add_task.py
    refused it with its own copy of the check)."""
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.custom_hooks = [
        h for h in cfg.get('custom_hooks', [])
        if 'AdapterHook' not in str(h.get('type'))
    ]
    with pytest.raises(ConfigError) as refused:
        benchmark_inference(cfg, str(tmp_path), num_tasks=[1], repeat=1)
    assert str(refused.value) == (
        'custom_hooks hold no AdapterHook, which says what a task trains '
        'and its adapter-only checkpoint holds; add '
        "dict(type='AdapterHook', ...) as the recipes do.")
    assert not any(tmp_path.iterdir())
