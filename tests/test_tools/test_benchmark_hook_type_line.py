# Copyright (c) mmadaptformer contributors. All rights reserved.
"""benchmark_add_task.py names a misspelled hook type as train.py does.

``--cfg-options custom_hooks.0.type=AdapterHok`` was the tool's usage
error (exit status 2, "custom_hooks hold no AdapterHook"), while
tools/train.py ends with the registry's line naming the option (exit
status 1).
"""
import pytest
from config_writers import video_data_cfg, write_config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_modules import load_tool

_LINE = ("ConfigError: --cfg-options custom_hooks.0.type='AdapterHok' is not "
         "in the mmaction::hook registry; did you mean 'AdapterHook'? Check "
         'the spelling, or import the module that registers it '
         '(custom_imports).')


def _exit_line(tool, argv) -> str:
    """The line ``tool`` exits with (a string: exit status 1)."""
    with pytest.raises(SystemExit) as exit:
        load_tool(tool).main(argv)
    assert isinstance(exit.value.code, str), exit.value.code
    return exit.value.code


def test_misspelled_hook_type_is_the_registry_line(tmp_path, capsys,
                                                   clean_loggers):
    work_dir = tmp_path / 'w'
    line = _exit_line('analysis_tools/benchmark_add_task.py', [
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks', '1', '--in-process',
        '--work-dir',
        str(work_dir), '--cfg-options', 'custom_hooks.0.type=AdapterHok'
    ])
    assert line == _LINE, line
    assert 'usage:' not in capsys.readouterr().err
    assert not work_dir.exists()


def test_train_py_gives_the_same_line(tmp_path, tiny_video_data,
                                      clean_loggers):
    """Guard of kept behaviour: the line the tool now matches."""
    config = write_config(tmp_path / 'c.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    line = _exit_line('train.py', [
        config, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', 'custom_hooks.0.type=AdapterHok'
    ])
    assert line == _LINE, line
