# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An AdapterHook in ``default_hooks`` gets the checks made before the work
dir, as one in ``custom_hooks`` does.

The presence check found an AdapterHook in either list
(:func:`~mmadaptformer.utils.hook_entries.hook_entries`), while the
argument and plan checks read ``custom_hooks`` only: ``tools/train.py``
on a config with ``default_hooks.adapter = dict(type='AdapterHook',
extra_trainable=['nope'])`` made the work dir, built the Runner, and only
the hook refused the pattern, at ``before_train``.
"""
import os.path as osp

import pytest
from config_writers import video_data_cfg, write_config
from mmengine.config import Config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.engine import (adapter_hook_cfg, check_adapter_hook_config,
                                  naming_plan_arguments)
from mmadaptformer.models.adapters.trainable import plan_trainable
from mmadaptformer.models.backbones.config_host import build_without_weights
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.registry_names import use_default_scope

#: Config lines of a run without validation or checkpoints whose
#: AdapterHook is ``default_hooks.adapter``, with ``{}`` its arguments.
_IN_DEFAULT_HOOKS = ('val_dataloader = None\nval_cfg = None\n'
                     'val_evaluator = None\ncustom_hooks = []\n'
                     'default_hooks = dict(checkpoint=dict(interval=10, '
                     'save_last=False), adapter=dict({}))\n')


def _cfg(**arguments) -> Config:
    """The tiny AdaptFormer video config, its AdapterHook moved to
    ``default_hooks.adapter`` with ``arguments``."""
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.custom_hooks = []
    cfg.default_hooks.adapter = dict(type='AdapterHook', **arguments)
    return cfg


def test_train_refuses_a_pattern_before_the_work_dir(tmp_path,
                                                     tiny_video_data):
    config = write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + _IN_DEFAULT_HOOKS.format(
            "type='AdapterHook', extra_trainable=['nope']"))
    work_dir = str(tmp_path / 'work')
    proc = run_tool(['train.py', config, '--work-dir', work_dir],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, no_dir=work_dir)
    assert line.startswith(
        f'ConfigError: {config}: default_hooks.adapter.extra_trainable = '
        "['nope']: AdapterHook extra_trainable pattern 'nope' matches no "
        'parameter of Recognizer3D'), line


@pytest.mark.parametrize('arguments, options, message', [
    (dict(extra_trainabl=['x']), {},
     "cfg.py: default_hooks.adapter.extra_trainabl = ['x']: AdapterHook "
     "takes no argument 'extra_trainabl' (did you mean 'extra_trainable'?)"),
    (dict(), {
        'default_hooks.adapter.mode': 'lin'
    }, "--cfg-options default_hooks.adapter.mode='lin': AdapterHook "
     "mode='lin' is not one of ('adaptformer', 'linear_probe')."),
    (dict(head=['nosuch']), {},
     "cfg.py: default_hooks.adapter.head = ['nosuch']: AdapterHook "
     "head=['nosuch']: Recognizer3D builds no module of this name"),
    (dict(extra_trainable=5), {},
     'cfg.py: default_hooks.adapter.extra_trainable = 5: AdapterHook '
     'extra_trainable must be a list of regular expressions'),
    (dict(extra_trainable=['nope']), {},
     "cfg.py: default_hooks.adapter.extra_trainable = ['nope']: AdapterHook "
     "extra_trainable pattern 'nope' matches no parameter of Recognizer3D"),
    (dict(mode='linear_probe'), {},
     "cfg.py: default_hooks.adapter.mode = 'linear_probe': AdapterHook "
     "mode='linear_probe' trains the head (and its extra_trainable "
     'parameters) alone, but the model has 2 AdaptMLP adapters'),
])
def test_each_check_names_the_default_hooks_entry(arguments, options, message):
    """The argument checks and the plan made on the model built without
    weights (the last two), each naming ``default_hooks.NAME``."""
    cfg = _cfg(**arguments)
    cfg.merge_from_dict(options)
    with pytest.raises(ConfigError) as info:
        check_adapter_hook_config(cfg, 'cfg.py', options, training=True)
    assert str(info.value).startswith(message), str(info.value)


def test_good_arguments_in_default_hooks_pass():
    """Guard of kept behaviour: the tiny recipe's hook, moved to
    ``default_hooks``, is not refused."""
    check_adapter_hook_config(
        _cfg(extra_trainable=[r'^backbone\.fc_norm\.']), 'cfg.py')


def test_the_tools_plan_refusal_names_the_default_hooks_entry():
    """``naming_plan_arguments`` without a place (``benchmark_infer.py``,
    ``get_flops.py``) finds the hook in ``default_hooks`` too; with one, a
    ``default_hooks`` name is that entry."""
    cfg = _cfg(extra_trainable=['nope'])
    use_default_scope(cfg)
    model = build_without_weights(cfg.model)
    for position in (None, 'adapter'):
        with pytest.raises(ConfigError) as info:
            with naming_plan_arguments(cfg, 'c.py', None, position):
                plan_trainable(model, extra_trainable=['nope'])
        assert str(info.value).startswith(
            "c.py: default_hooks.adapter.extra_trainable = ['nope']: "
            "AdapterHook extra_trainable pattern 'nope'"), str(info.value)


def test_an_unknown_default_hook_type_is_left_to_the_registry(
        tmp_path, tiny_video_data):
    """A misspelt ``default_hooks.adapter.type`` was taken as a config
    without an AdapterHook (``... but no AdapterHook is in custom_hooks``),
    while a misspelt ``custom_hooks`` type is named by the registry's
    check: both now are."""
    config = write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        _IN_DEFAULT_HOOKS.format("type='AdapterHok'"))
    proc = run_tool(
        ['train.py', config, '--work-dir',
         osp.join(tmp_path, 'work')],
        cwd=tmp_path,
        check=False)
    assert refused_line(proc) == (
        f"ConfigError: {config}: default_hooks.adapter.type='AdapterHok' is "
        "not in the mmaction::hook registry; did you mean 'AdapterHook'? "
        'Check the spelling, or import the module that registers it '
        '(custom_imports).')


def test_the_tools_and_apis_find_the_hook_in_default_hooks():
    """``adapter_hook_cfg`` (the plan of ``get_flops.py``,
    ``benchmark_infer.py``, the trained parts of a ``MultiTaskRecognizer``
    task) read ``custom_hooks`` only: a config trained with its AdapterHook
    in ``default_hooks`` was taken as one without."""
    cfg = _cfg(extra_trainable=[r'^backbone\.fc_norm\.'])
    assert adapter_hook_cfg(cfg) == dict(
        type='AdapterHook', extra_trainable=[r'^backbone\.fc_norm\.'])
