# Copyright (c) mmadaptformer contributors. All rights reserved.
"""benchmark_infer.py ends on a refusal of the model's build as tools/test.py
does (exit status 1, its line); only a ``--prefix-layers`` the model lacks
is a usage error (exit status 2).

It turned every ``ConfigError`` raised while it measured into a usage
error: ``benchmark_infer.py: error: config FILE: AdapterHook
extra_trainable pattern 'nope' matches no parameter ...``, exit status 2,
naming no option. get_flops.py, which makes the trainable plan too, ended
with the plan's bare ``PlanArgumentError`` line.
"""
import pytest
from config_writers import write_config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_modules import load_tool


def test_benchmark_infer_model_refusal_is_test_py_line(tmp_path, capsys,
                                                       clean_loggers):
    """A refusal of the model's build (an AdapterHook pattern that matches
    nothing) ends as in tools/test.py, exit status 1 with its line; it was
    a usage error (exit status 2, ``config FILE: ...``)."""
    option = 'custom_hooks.0.extra_trainable=[nope]'
    with pytest.raises(SystemExit) as exit:
        load_tool('analysis_tools/benchmark_infer.py').main([
            TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '--repeat', '1',
            '--warmup', '0', '--work-dir',
            str(tmp_path), '--cfg-options', option
        ])
    assert exit.value.code == (
        "ConfigError: --cfg-options custom_hooks.0.extra_trainable=['nope']: "
        "AdapterHook extra_trainable pattern 'nope' matches no parameter of "
        'Recognizer3D; patterns are regular expressions searched in the '
        "state-dict keys of parameters such as ['backbone.patch_embed."
        "projection.weight', 'backbone.patch_embed.projection.bias', "
        "'backbone.blocks.0.norm1.weight', 'backbone.blocks.0.norm1.bias', "
        "'backbone.blocks.0.attn.q_bias'].")
    assert 'usage:' not in capsys.readouterr().err


def test_benchmark_infer_model_refusal_in_the_file_names_the_file(
        tmp_path, clean_loggers):
    """The AdapterHook argument set in the config file: ``FILE: KEY =
    VALUE``, as tools/test.py names it."""
    config = write_config(
        tmp_path / 'c.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        "custom_hooks = [dict(type='AdapterHook', extra_trainable=['nope'], "
        'adapter_only_checkpoint=True)]\n')
    with pytest.raises(SystemExit) as exit:
        load_tool('analysis_tools/benchmark_infer.py').main([
            config, '--tasks', '1', '--repeat', '1', '--warmup', '0',
            '--work-dir',
            str(tmp_path)
        ])
    assert exit.value.code.startswith(
        f"ConfigError: {config}: custom_hooks[0].extra_trainable = ['nope']: "
        "AdapterHook extra_trainable pattern 'nope' matches no parameter of "
        'Recognizer3D;'), exit.value.code


def test_get_flops_names_the_refused_adapter_hook_argument(capsys):
    """get_flops.py makes the plan too: it ended with the plan's bare
    ``PlanArgumentError`` line, naming neither the option nor the key."""
    with pytest.raises(SystemExit) as exit:
        load_tool('analysis_tools/get_flops.py').main([
            TINY_ADAPTFORMER_VIDEO_CONFIG, '--cfg-options',
            'custom_hooks.0.head=nope'
        ])
    assert exit.value.code.startswith(
        "ConfigError: --cfg-options custom_hooks.0.head='nope': AdapterHook "
        "head=['nope']: Recognizer3D has no module of this name"), \
        exit.value.code
