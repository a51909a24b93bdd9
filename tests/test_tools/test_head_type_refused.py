# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A misspelled head ``type`` given to ``tools/train.py`` is refused on one
line before the work dir is made.

Before, the model checks built the whole model four times without
naming it (the plan check built it again), and the Runner named it after
making the work dir and logging the config."""
from config_writers import video_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool


def test_a_misspelled_head_is_one_line_before_the_work_dir(
        tmp_path, tiny_video_data):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    work_dir = tmp_path / 'work'
    proc = run_tool([
        'train.py', config, '--work-dir', work_dir, '--cfg-options',
        'model.cls_head.type=BNLinearHeed'
    ],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, absent=['Config:'], no_dir=work_dir)
    assert line == (
        "ConfigError: --cfg-options model.cls_head.type='BNLinearHeed' is "
        "not in the mmaction::model registry; did you mean 'BNLinearHead'? "
        'Check the spelling, or import the module that registers it '
        '(custom_imports).'), line
