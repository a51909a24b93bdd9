# Copyright (c) mmadaptformer contributors. All rights reserved.
"""benchmark_add_task.py ends on a config mistake as tools/train.py and
tools/test.py do: exit status 1 with the line naming the option or key,
before it makes its work dir.

An AdapterHook ``extra_trainable`` pattern that matches no parameter
ended with the plan's bare ``PlanArgumentError: AdapterHook
extra_trainable pattern 'nope' ...`` line, naming no option, after the
work dir was made; a misspelled backbone type (``AdaptFormr``) was the
tool's usage error (exit status 2) for a backbone it does not measure.
"""
import pytest
from config_writers import write_config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG
from tool_modules import load_tool, tool_refusal

_PATTERN = ("AdapterHook extra_trainable pattern 'nope' matches no parameter "
            'of Recognizer3D; patterns are regular expressions searched in '
            'the state-dict keys of parameters such as')


def _refusal(config, work_dir, *options) -> str:
    """What the tool exits with (a string: exit status 1)."""
    argv = [config, '--tasks', '1', '--in-process', '--work-dir', work_dir]
    if options:
        argv += ['--cfg-options', *options]
    with pytest.raises(SystemExit) as exit:
        load_tool('analysis_tools/benchmark_add_task.py').main(argv)
    assert isinstance(exit.value.code, str), exit.value.code
    return exit.value.code


def test_unmatched_pattern_names_the_option(tmp_path, capsys, clean_loggers):
    work_dir = tmp_path / 'w'
    line = _refusal(TINY_ADAPTFORMER_VIDEO_CONFIG, str(work_dir),
                    'custom_hooks.0.extra_trainable=[nope]')
    assert line.startswith(
        "ConfigError: --cfg-options custom_hooks.0.extra_trainable=['nope']: "
        + _PATTERN), line
    assert not work_dir.exists()
    assert 'usage:' not in capsys.readouterr().err


def test_unmatched_pattern_in_the_file_names_the_file_and_key(
        tmp_path, clean_loggers):
    config = write_config(
        tmp_path / 'c.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        "custom_hooks = [dict(type='AdapterHook', extra_trainable=['nope'], "
        'adapter_only_checkpoint=True)]\n')
    line = _refusal(config, str(tmp_path / 'w'))
    assert line.startswith(
        f"ConfigError: {config}: custom_hooks[0].extra_trainable = ['nope']: "
        + _PATTERN), line


def test_misspelled_backbone_type_is_the_registry_line(tmp_path, capsys,
                                                       clean_loggers):
    """As train.py names it, exit status 1; it was the tool's usage error
    ('model.backbone is AdaptFormr, but this tool measures AdaptFormer
    tasks'), exit status 2."""
    line = _refusal(TINY_ADAPTFORMER_VIDEO_CONFIG, str(tmp_path / 'w'),
                    'model.backbone.type=AdaptFormr')
    assert line == (
        "ConfigError: --cfg-options model.backbone.type='AdaptFormr' is not "
        "in the mmaction::model registry; did you mean 'AdaptFormer'? Check "
        'the spelling, or import the module that registers it '
        '(custom_imports).'), line
    assert 'usage:' not in capsys.readouterr().err


def test_another_backbone_is_still_a_usage_error(tmp_path, capsys,
                                                 clean_loggers):
    """Guard of kept behaviour: a stock config, which train.py takes, is
    not what this tool measures: a usage error, exit status 2."""
    err = tool_refusal(
        load_tool('analysis_tools/benchmark_add_task.py'),
        [TINY_VIDEO_CONFIG, '--tasks', '1', '--work-dir',
         str(tmp_path / 'w')], capsys)
    assert ('model.backbone is VisionTransformer, but this tool measures '
            'AdaptFormer tasks') in err, err
    assert not (tmp_path / 'w').exists()
