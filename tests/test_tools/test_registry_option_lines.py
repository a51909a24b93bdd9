# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A misspelled ``type`` inside a list or dict that ``--cfg-options`` set
as a whole is named as the option was given.

``--cfg-options "custom_hooks=[dict(type='AdapterHok')]"`` ended
``tools/train.py`` (and ``benchmark_add_task.py``) with
``--cfg-options custom_hooks='AdapterHok' is not in the mmaction::hook
registry``: an option the user never typed. The line now names the key
as that option set it (``KEY = VALUE, set by --cfg-options ABOVE=...``,
as the other refusals of such a key do), then what is wrong with it."""
import pytest
from config_writers import video_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

_HINT = ('is not in the mmaction::hook registry; did you mean '
         "'AdapterHook'? Check the spelling, or import the module that "
         'registers it (custom_imports).')
_LINE = ("ConfigError: custom_hooks[0].type = 'AdapterHok', set by "
         "--cfg-options custom_hooks=[{'type': 'AdapterHok'}]: 'AdapterHok' " +
         _HINT)


@pytest.fixture(scope='module')
def config(tmp_path_factory, tiny_video_data):
    root = tmp_path_factory.mktemp('registry_option_lines')
    return write_config(root / 'c.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                        video_data_cfg(tiny_video_data))


@pytest.mark.parametrize('tool, args', [
    ('train.py', []),
    ('analysis_tools/benchmark_add_task.py', ['--tasks', '1', '--in-process']),
])
def test_a_type_set_inside_a_list_option_is_named_as_given(
        config, tmp_path, tool, args):
    work_dir = tmp_path / 'w'
    proc = run_tool([
        tool, config, *args, '--work-dir', work_dir, '--cfg-options',
        "custom_hooks=[dict(type='AdapterHok')]"
    ],
                    tmp_path,
                    check=False)
    assert refused_line(proc) == _LINE


def test_a_type_set_by_its_own_option_is_named_as_before(config, tmp_path):
    """Guard of kept behaviour: ``--cfg-options KEY=VALUE`` for a type its
    own option set."""
    work_dir = tmp_path / 'w'
    proc = run_tool([
        'train.py', config, '--work-dir', work_dir, '--cfg-options',
        'custom_hooks.0.type=AdapterHok'
    ],
                    tmp_path,
                    check=False)
    assert refused_line(proc) == (
        "ConfigError: --cfg-options custom_hooks.0.type='AdapterHok' " + _HINT)
