# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``default_hooks.NAME=None`` removes the recipes' hook of that name in the
tools' runner, as it removes MMEngine's own.

MMEngine's ``Runner.register_default_hooks`` removes only the hooks it
adds itself (``checkpoint=None``); for any other name it asserted:
``tools/train.py`` on a recipe with ``default_hooks.non_finite_loss=None``
(or ``data_health``, ``config_check``, ...) made the work dir and ended
with a bare ``AssertionError`` traceback, while the tools' config check
lets None through as removing the hook, and the warning of a repeated
``DataHealthHook`` advised it."""
import pytest
from config_writers import write_config
from mmengine.config import Config
from refusal_lines import refused_line
from repo_paths import TINY_IMAGE_CONFIG
from tool_runners import run_tool

from mmadaptformer.engine import (ConfigCheckHook, DataHealthHook,
                                  NonFiniteLossHook, build_runner)
from mmadaptformer.testing import make_stripes_dataset


@pytest.mark.parametrize('name, hook_type',
                         [('non_finite_loss', NonFiniteLossHook),
                          ('data_health', DataHealthHook),
                          ('config_check', ConfigCheckHook)])
def test_none_removes_a_recipe_hook(clean_loggers, tmp_path, name, hook_type):
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    assert cfg.default_hooks[name]['type'] == hook_type.__name__
    cfg.default_hooks[name] = None
    hooks = build_runner(cfg).hooks
    assert sum(isinstance(h, hook_type) for h in hooks) == 0


def test_data_health_none_is_honoured_with_a_warning(clean_loggers, tmp_path):
    """build_runner added a fresh DataHealthHook (default arguments) right
    after ``default_hooks.data_health=None`` removed the recipe's one, so the
    user's removal was undone without a word."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.default_hooks.data_health = None
    runner = build_runner(cfg)
    assert not any(isinstance(h, DataHealthHook) for h in runner.hooks)
    log = open(runner.log_dir + '/' + runner.timestamp + '.log').read()
    assert 'default_hooks.data_health=None in' in log
    assert 'has no DataHealthHook' in log


def test_a_config_without_the_hook_still_gets_one(clean_loggers, tmp_path):
    """Guard of kept behaviour: a config that never named the hook."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    del cfg.default_hooks['data_health']
    hooks = build_runner(cfg).hooks
    assert sum(isinstance(h, DataHealthHook) for h in hooks) == 1


def test_none_still_removes_an_mmengine_hook(clean_loggers, tmp_path):
    """Guard of kept behaviour: MMEngine's own default hooks."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.default_hooks.timer = None
    names = [type(h).__name__ for h in build_runner(cfg).hooks]
    assert 'IterTimerHook' not in names and 'LoggerHook' in names


def test_train_without_a_recipe_hook(tmp_path):
    root = str(tmp_path / 'data')
    make_stripes_dataset(root, num_per_class=1, splits=('train', ))
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n'
        f'train_dataloader = dict(dataset=dict(data_root={root!r}))\n'
        'train_cfg = dict(max_epochs=1)\n'
        'default_hooks = dict(checkpoint=dict(interval=10, save_last=False), '
        'non_finite_loss=None)\n')
    proc = run_tool(['train.py', config, '--work-dir',
                     str(tmp_path / 'work')],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 0, refused_line(proc)
    assert 'Epoch(train) [1][1/1]' in proc.stdout
    assert ') NonFiniteLossHook' not in proc.stdout
