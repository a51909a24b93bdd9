# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Where a hook's refused argument was set, read from a real Runner's
config: the cases a mutation audit of
:mod:`mmadaptformer.engine.hooks.hook_config_place` found untested (a
scoped hook type, the second of two hooks of one type, a config file's
tuple, a config with no file)."""
import pytest
from config_writers import config_runner
from mmengine.config import Config
from mmengine.runner import Runner
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG

from mmadaptformer.engine.hooks import AdapterHook, AtomicCheckpointHook
from mmadaptformer.engine.hooks.hook_config_place import (hook_argument_place,
                                                          hook_place)
from mmadaptformer.utils import ConfigError

#: Two AdapterHooks; the second's pattern is the one a test asks about.
TWO_ADAPTER_HOOKS = ("custom_hooks = [dict(type='AdapterHook', "
                     "extra_trainable=[r'^backbone\\.fc_norm\\.']), "
                     "dict(type='AdapterHook', extra_trainable=['nope'])]\n")


def _hooks(runner, kind):
    return [hook for hook in runner.hooks if type(hook) is kind]


def test_a_scoped_hook_type_is_found(tmp_path, clean_loggers):
    """``type='mmaction.AtomicCheckpointHook'`` names the same hook."""
    runner = config_runner(
        tmp_path, TINY_VIDEO_CONFIG, 'default_hooks = dict(checkpoint=dict('
        "type='mmaction.AtomicCheckpointHook', foo=1))\n")
    hook, = _hooks(runner, AtomicCheckpointHook)
    with pytest.raises(ConfigError) as info:
        hook.refuse_unknown_arguments(runner)
    assert str(info.value).startswith(
        f'{tmp_path / "cfg.py"}: default_hooks.checkpoint.foo = 1: '
        'AtomicCheckpointHook takes no argument foo=1'), str(info.value)


def test_the_second_hook_of_one_type_is_named_by_its_own_index(
        tmp_path, clean_loggers):
    runner = config_runner(tmp_path, TINY_ADAPTFORMER_VIDEO_CONFIG,
                           TWO_ADAPTER_HOOKS)
    first, second = _hooks(runner, AdapterHook)
    assert second.extra_trainable == ['nope']
    assert hook_argument_place(runner, second, 'extra_trainable', [
        'nope'
    ]) == f"{tmp_path / 'cfg.py'}: custom_hooks[1].extra_trainable = ['nope']"
    # A value the file does not hold, outside a tool's run: the option
    # that would set it, as --cfg-options writes the index.
    assert hook_argument_place(
        runner, second, 'extra_trainable',
        ['other']) == "--cfg-options custom_hooks.1.extra_trainable=['other']"
    assert hook_place(runner, first) == \
        f"{tmp_path / 'cfg.py'}: custom_hooks[0]"


def test_a_tuple_in_the_file_is_the_files_value(tmp_path, clean_loggers):
    """The hook holds ``extra_trainable`` as a list; the file's tuple is
    the same value, not one a ``--cfg-options`` entry set."""
    runner = config_runner(
        tmp_path, TINY_ADAPTFORMER_VIDEO_CONFIG,
        "custom_hooks = [dict(type='AdapterHook', "
        "extra_trainable=('nope', ))]\n")
    hook, = _hooks(runner, AdapterHook)
    assert hook_argument_place(runner, hook, 'extra_trainable',
                               hook.extra_trainable) == \
        f"{tmp_path / 'cfg.py'}: custom_hooks[0].extra_trainable = ['nope']"


def test_a_config_with_no_file_names_the_key_alone(tmp_path, clean_loggers):
    """A Runner of a Config made in code (no file) names no file."""
    cfg = Config(Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG).to_dict())
    assert cfg.filename is None
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    hook, = _hooks(runner, AdapterHook)
    assert hook_place(runner, hook) == 'custom_hooks[0]'
    assert hook_argument_place(runner, hook, 'mode', 'adaptformer') == \
        "custom_hooks[0].mode = 'adaptformer'"
