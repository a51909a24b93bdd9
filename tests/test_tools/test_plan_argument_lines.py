# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An AdapterHook argument that the trainable plan refuses (an
``extra_trainable`` pattern that matches no parameter, linear probing of a
model with adapters, a plan in which nothing trains) ends tools/train.py
and tools/test.py with one line naming where it was set, exit status 1,
before the Runner makes the work dir.

They were refused only once the Runner ran the hook, after the work dir
was made (its log, its config copy). A Runner the user builds (mmaction2's
own tools) still refuses them at run time.
"""
import pytest
from config_writers import config_runner, video_data_cfg, write_config
from refusal_lines import refused_line
from refused_runs import unread_checkpoint
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG
from tool_runners import run_tool

_PATTERN = ("AdapterHook extra_trainable pattern 'nope' matches no parameter "
            'of Recognizer3D; patterns are regular expressions searched in '
            'the state-dict keys of parameters such as')


def _refused(tmp_path, tool: str, base: str, body: str, *options: str):
    """Run ``tool`` on ``tmp_path/cfg.py`` (``base`` and ``body``), work
    dir ``tmp_path/w``, with ``--cfg-options options`` if any; test.py's
    checkpoint is an empty file (a check that read it would fail on it).
    Returns the config and the line the run was refused with, before the
    work dir was made."""
    config = write_config(tmp_path / 'cfg.py', base, body)
    args = [tool, config, '--work-dir', str(tmp_path / 'w')]
    if tool == 'test.py':
        args.insert(2, unread_checkpoint(tmp_path))
    if options:
        args += ['--cfg-options', *options]
    proc = run_tool(args, cwd=tmp_path, check=False)
    return config, refused_line(proc, no_dir=str(tmp_path / 'w'))


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_unmatched_pattern_from_cfg_options_names_the_option(
        tmp_path, tiny_video_data, tool):
    """``--cfg-options custom_hooks.0.extra_trainable=[nope]`` ends with
    the option leading the plan's line, before the work dir is made."""
    _, line = _refused(tmp_path, tool, TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data),
                       'custom_hooks.0.extra_trainable=[nope]')
    assert line.startswith(
        "ConfigError: --cfg-options custom_hooks.0.extra_trainable=['nope']: "
        + _PATTERN), line


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_unmatched_pattern_in_the_file_names_the_file_and_key(
        tmp_path, tiny_video_data, tool):
    """Set in the config file: ``FILE: custom_hooks[0].extra_trainable =
    ['nope']: ...``, as the hook names it in a run."""
    config, line = _refused(
        tmp_path, tool, TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "custom_hooks = [dict(type='AdapterHook', extra_trainable=['nope'], "
        'adapter_only_checkpoint=True)]\n')
    assert line.startswith(
        f"ConfigError: {config}: custom_hooks[0].extra_trainable = ['nope']: "
        + _PATTERN), line


def test_linear_probe_of_a_model_with_adapters_names_the_mode(
        tmp_path, tiny_video_data):
    """``mode='linear_probe'`` on the AdaptFormer model (its adapters would
    stay random): the plan's other refusal, the option that set the mode
    leading it."""
    _, line = _refused(tmp_path, 'train.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data),
                       'custom_hooks.0.mode=linear_probe')
    assert line.startswith(
        "ConfigError: --cfg-options custom_hooks.0.mode='linear_probe': "
        "AdapterHook mode='linear_probe' trains the head"), line


def test_nothing_to_train_names_the_hook(tmp_path, tiny_video_data):
    """A linear probe of the stock model with ``head=[]`` trains nothing:
    no single argument is at fault, so the hook's entry is named."""
    config, line = _refused(
        tmp_path, 'train.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "custom_hooks = [dict(type='AdapterHook', mode='linear_probe', "
        'head=[])]\n')
    assert line.startswith(f'ConfigError: {config}: custom_hooks[0]: '), line
    assert 'Nothing would train in Recognizer3D' in line, line


def test_second_hook_entry_is_named_by_its_index(tmp_path, tiny_video_data):
    """The AdapterHook after another hook: its own index is named."""
    config, line = _refused(
        tmp_path, 'train.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "custom_hooks = [dict(type='EmptyCacheHook'), dict(type='AdapterHook',"
        " extra_trainable='nope')]\n")
    assert line.startswith(
        f"ConfigError: {config}: custom_hooks[1].extra_trainable = 'nope': " +
        _PATTERN), line


def test_user_built_runner_still_refuses_at_run_time(tmp_path, tiny_video_data,
                                                     clean_loggers):
    """Guard of kept behaviour: a Runner the user builds (mmaction2's own
    tools) makes no pre-Runner check; the hook refuses the pattern when it
    runs, naming the key."""
    from mmadaptformer.utils import ConfigError
    runner = config_runner(
        tmp_path, TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "custom_hooks = [dict(type='AdapterHook', extra_trainable=['nope'])]"
        '\n')
    with pytest.raises(
            ConfigError,
            match=r'custom_hooks\[0\]\.'
            r"extra_trainable = \['nope'\]: AdapterHook "
            "extra_trainable pattern 'nope' matches no parameter"):
        runner.train()
