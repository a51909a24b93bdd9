# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--work-dir A`` beside ``--cfg-options work_dir=B`` is refused by
``tools/train.py`` and ``tools/test.py`` alike, on one line naming both
values, exit status 2, before anything is made.

Before: train.py merged the options after ``--work-dir`` and wrote into B,
test.py merged them before and wrote into A, neither saying a word. Real
processes of the tools on the tiny image config and a real training run's
checkpoint; under ``dist_train.sh`` the line is printed once."""
import os

import pytest
from config_writers import image_data_cfg, write_config
from refusal_lines import usage_line
from repo_paths import TINY_IMAGE_CONFIG
from tool_runners import dist_train_refusal, run_tool


@pytest.fixture(scope='module')
def image_config(tmp_path_factory, tiny_image_data):
    root = tmp_path_factory.mktemp('two_work_dirs')
    return write_config(root / 'cfg.py', TINY_IMAGE_CONFIG,
                        image_data_cfg(tiny_image_data))


def _tool_args(tool, config, last_checkpoint_run):
    checkpoint = [last_checkpoint_run['named']] if tool == 'test.py' else []
    return [tool, config] + checkpoint


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_two_work_dirs_are_refused_by_both_tools(tool, tmp_path, image_config,
                                                 last_checkpoint_run):
    proc = run_tool(
        _tool_args(tool, image_config, last_checkpoint_run) +
        ['--work-dir', 'A', '--cfg-options', 'work_dir=B'],
        cwd=tmp_path,
        check=False)
    assert usage_line(
        proc, absent=['Epoch'], no_dir=str(tmp_path / 'B')) == (
            f'{tool}: error: --work-dir A and --cfg-options work_dir=B name '
            'two work dirs; give one of them.')
    assert not (tmp_path / 'A').exists()


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_one_work_dir_given_both_ways_runs_as_before(tool, tmp_path,
                                                     image_config,
                                                     last_checkpoint_run):
    """Guards kept behaviour: ``~/A`` and ``./A/`` name one folder (``~``
    expanded, compared as absolute paths), which the run writes in."""
    run_tool(
        _tool_args(tool, image_config, last_checkpoint_run) +
        ['--work-dir', '~/A', '--cfg-options', 'work_dir=./A/'],
        cwd=tmp_path,
        env=dict(HOME=str(tmp_path)))
    written = os.listdir(tmp_path / 'A')
    assert ('epoch_2.pth' in written) == (tool == 'train.py'), written
    assert not (tmp_path / '~').exists()


def test_dist_train_prints_the_refusal_once(tmp_path, image_config,
                                            served_torchrun):
    dist_train_refusal(
        [image_config, 2, '--work-dir', 'A', '--cfg-options', 'work_dir=B'],
        tmp_path, '--work-dir A and --cfg-options work_dir=B name two work '
        'dirs')
    assert not (tmp_path / 'A').exists() and not (tmp_path / 'B').exists()
