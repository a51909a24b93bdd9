# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A hook's refusal of an argument that a ``--cfg-options`` entry set
through its parent key names the entry the user typed.

``--cfg-options default_hooks.checkpoint="dict(type='AtomicCheckpointHook',
foo=1)"`` ended with ``--cfg-options default_hooks.checkpoint.foo=1: ...``,
and ``custom_hooks="[dict(type='AdapterHook', mode='linear_probe')]"`` with
``--cfg-options custom_hooks.0.mode='linear_probe': ...``: entries the user
never typed. The refusals made before the Runner is built say ``KEY =
VALUE, set by --cfg-options ABOVE=...`` for such an entry, and so do the
hooks' now.
"""
from types import SimpleNamespace

from config_writers import video_data_cfg, write_config
from mmengine.config import Config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.engine.hooks.atomic_checkpoint_hook import \
    AtomicCheckpointHook
from mmadaptformer.engine.hooks.hook_config_place import (hook_argument_place,
                                                          hook_place)
from mmadaptformer.utils.config_place import giving_cfg_options

#: The tiny recipe's AdapterHook, on its random tiny backbone.
RANDOM_BACKBONE = ("custom_hooks = [dict(type='AdapterHook', "
                   "extra_trainable=[r'^backbone\\.fc_norm\\.'], "
                   'allow_random_backbone=True)]\n')


def _train(tmp_path, data, *options, body=''):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(data) + body)
    args = ['train.py', config, '--work-dir', tmp_path / 'w']
    if options:
        args += ['--cfg-options', *options]
    return refused_line(run_tool(args, cwd=tmp_path, check=False))


def test_checkpoint_hook_set_as_a_whole_names_that_option(
        tmp_path, tiny_video_data):
    line = _train(
        tmp_path,
        tiny_video_data,
        "default_hooks.checkpoint=dict(type='AtomicCheckpointHook',"
        ' foo=1)',
        body=RANDOM_BACKBONE)
    assert line.startswith(
        'ConfigError: default_hooks.checkpoint.foo = 1, set by --cfg-options '
        "default_hooks.checkpoint={'type': 'AtomicCheckpointHook', 'foo': 1}"
        ': AtomicCheckpointHook takes no argument foo=1'), line


def test_adapter_hook_set_in_a_list_names_that_option(tmp_path,
                                                      tiny_video_data):
    line = _train(
        tmp_path, tiny_video_data,
        "custom_hooks=[dict(type='AdapterHook', mode=linear_probe)]")
    assert line.startswith(
        "ConfigError: custom_hooks[0].mode = 'linear_probe', set by "
        "--cfg-options custom_hooks=[{'type': 'AdapterHook', "
        "'mode': 'linear_probe'}]: AdapterHook mode='linear_probe' trains "
        'the head'), line


def test_adapter_hook_set_as_a_whole_is_named_by_that_option(
        tmp_path, tiny_video_data):
    """A refusal of no single argument names the hook's entry: the option
    that set it, not the config file's ``custom_hooks[0]``."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    line = refused_line(
        run_tool([
            'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
            "custom_hooks=[dict(type='AdapterHook', mode=linear_probe, "
            'head=[])]'
        ],
                 cwd=tmp_path,
                 check=False))
    assert line.startswith(
        'ConfigError: custom_hooks[0], set by --cfg-options '
        "custom_hooks=[{'type': 'AdapterHook', 'mode': 'linear_probe', "
        "'head': []}]: Nothing would train in Recognizer3D"), line


def _runner(config):
    # The attributes hook_argument_place reads of a Runner: its config,
    # the options merged.
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(
        {'default_hooks.checkpoint': dict(type='AtomicCheckpointHook', foo=2)})
    return SimpleNamespace(cfg=cfg, hooks=[])


def _config(tmp_path):
    config = tmp_path / 'cfg.py'
    # The Runner looks the hooks' types up in its default scope.
    config.write_text("default_scope = 'mmaction'\n"
                      'default_hooks = dict(checkpoint=dict('
                      "type='AtomicCheckpointHook', foo=1, bar=3))\n")
    return config


def test_a_parent_option_is_named_as_given(tmp_path):
    runner = _runner(_config(tmp_path))
    options = {
        'default_hooks.checkpoint': dict(type='AtomicCheckpointHook', foo=2)
    }
    with giving_cfg_options(options):
        place = hook_argument_place(runner, AtomicCheckpointHook(), 'foo', 2)
    assert place == (
        'default_hooks.checkpoint.foo = 2, set by --cfg-options '
        "default_hooks.checkpoint={'type': 'AtomicCheckpointHook', 'foo': 2}"
    ), place


def test_a_key_the_parent_option_lacks_is_the_files(tmp_path):
    """Guard of kept behaviour: a dict option merges into the file's dict,
    so ``bar``, which it lacks, is still the file's."""
    config = _config(tmp_path)
    runner = _runner(config)
    options = {
        'default_hooks.checkpoint': dict(type='AtomicCheckpointHook', foo=2)
    }
    with giving_cfg_options(options):
        place = hook_argument_place(runner, AtomicCheckpointHook(), 'bar', 3)
    assert place == f'{config}: default_hooks.checkpoint.bar = 3', place


def test_a_value_no_option_and_no_file_holds_names_no_option(tmp_path):
    """In a tool's run whose options did not set it (a tool's flag did), no
    ``--cfg-options`` entry that was never given is named."""
    runner = _runner(_config(tmp_path))
    with giving_cfg_options({}):
        place = hook_argument_place(runner, AtomicCheckpointHook(), 'foo', 2)
    assert place == 'default_hooks.checkpoint.foo = 2', place


def test_outside_a_tools_run_the_options_are_guessed_as_before(tmp_path):
    """Guard of kept behaviour: with no tool's options known (a Runner of
    the user's own code), a value the file lacks is an option's."""
    runner = _runner(_config(tmp_path))
    place = hook_argument_place(runner, AtomicCheckpointHook(), 'foo', 2)
    assert place == '--cfg-options default_hooks.checkpoint.foo=2', place


def test_the_hooks_entry_set_by_an_option_is_named_by_it(tmp_path):
    runner = _runner(_config(tmp_path))
    options = {
        'default_hooks.checkpoint': dict(type='AtomicCheckpointHook', foo=2)
    }
    with giving_cfg_options(options):
        place = hook_place(runner, AtomicCheckpointHook())
    assert place == ('--cfg-options default_hooks.checkpoint='
                     "{'type': 'AtomicCheckpointHook', 'foo': 2}"), place


def test_the_hooks_entry_an_option_set_one_argument_of_is_the_files(tmp_path):
    """Guard of kept behaviour: an option that set one argument beneath the
    hook's entry leaves the entry the file's."""
    config = _config(tmp_path)
    runner = _runner(config)
    with giving_cfg_options({'default_hooks.checkpoint.foo': 2}):
        place = hook_place(runner, AtomicCheckpointHook())
    assert place == f'{config}: default_hooks.checkpoint', place
