# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A run with two AdapterHooks is refused.

A config that inherits a recipe (its AdapterHook in ``custom_hooks``) and
adds ``default_hooks.adapter = dict(type='AdapterHook',
extra_trainable=[...])``, thinking it replaces the recipe's, trained with
both: each froze the model to its own plan, the second one's plan
replaced the first's (``fc_norm`` dropped from the optimizer, logged only
as a second table), exit status 0. ``tools/train.py`` now refuses it
before the work dir, and the hook in a Runner of one's own."""
import pytest
from config_writers import config_runner, video_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.utils import ConfigError

_BOTH = ('val_dataloader = None\nval_cfg = None\nval_evaluator = None\n'
         'train_cfg = dict(max_epochs=1)\n'
         'default_hooks = dict(checkpoint=dict(interval=10, save_last=False),'
         " adapter=dict(type='AdapterHook', extra_trainable="
         "[r'^backbone\\.fc_norm\\.'], allow_random_backbone=True))\n"
         "custom_hooks = [dict(type='AdapterHook', "
         'allow_random_backbone=True)]\n')

_WHY = ('AdapterHook is registered 2 times, by default_hooks.adapter and '
        'custom_hooks[0]: each makes its own trainable plan and freezes the '
        "model to it, so the last one's plan would replace the others'")


def test_train_refuses_two_adapter_hooks_before_the_work_dir(
        tmp_path, tiny_video_data):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data) + _BOTH)
    work_dir = str(tmp_path / 'work')
    proc = run_tool(['train.py', config, '--work-dir', work_dir],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, no_dir=work_dir)
    expected = f'ConfigError: {config}: custom_hooks[0]: {_WHY}'
    assert line.startswith(expected), line


def test_a_runner_of_ones_own_is_refused_by_the_hook(clean_loggers, tmp_path,
                                                     tiny_video_data):
    runner = config_runner(tmp_path, TINY_ADAPTFORMER_VIDEO_CONFIG,
                           video_data_cfg(tiny_video_data) + _BOTH)
    with pytest.raises(ConfigError) as info:
        runner.train()
    assert str(info.value).startswith(_WHY), str(info.value)
