# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Two AdapterHooks, one from the config and one registered by code
(``runner.register_hook``), are refused naming each truly.

The runner then holds two AdapterHooks for one config entry, so which hook
the entry built cannot be told; both were named "a hook registered outside
the config", false of the config's. As a list, what built them is known:
the entry and code."""
import pytest
from config_writers import config_runner, video_data_cfg
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG

from mmadaptformer.engine import AdapterHook
from mmadaptformer.utils import ConfigError


def test_a_config_adapter_hook_beside_one_registered_by_code(
        clean_loggers, tmp_path, tiny_video_data):
    runner = config_runner(
        tmp_path, TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n'
        "custom_hooks = [dict(type='AdapterHook', "
        'allow_random_backbone=True)]\n')
    runner.register_hook(AdapterHook(allow_random_backbone=True))
    with pytest.raises(ConfigError) as info:
        runner.train()
    assert str(info.value).startswith(
        'AdapterHook is registered 2 times, by custom_hooks[0] and a hook '
        'registered outside the config: each makes its own trainable '
        'plan'), str(info.value)
