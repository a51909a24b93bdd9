# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A refusal of a hook in ``custom_hooks`` that has the type of a
``default_hooks`` entry names its own key: a second AtomicCheckpointHook's
argument was named ``default_hooks.checkpoint.NAME``, a key the config does
not hold."""
from helpers import TINY_VIDEO_CONFIG, run_tool, video_data_cfg, write_config
from refusal_lines import refused_line


def test_custom_checkpoint_hook_argument_names_its_own_key(
        tmp_path, tiny_video_data):
    config = write_config(
        tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "custom_hooks = [dict(type='AtomicCheckpointHook', interval=1,"
        ' intervl=2)]\n')
    line = refused_line(
        run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                 cwd=tmp_path,
                 check=False))
    assert line.startswith(
        f'ConfigError: {config}: custom_hooks[0].intervl = 2: '
        'AtomicCheckpointHook takes no argument intervl=2'), line
