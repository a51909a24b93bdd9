# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A new ``tools/train.py`` run (not ``--resume``) whose ``load_from`` is a
file its own checkpoint hook writes is refused on one line naming the file,
the work dir and what to run instead, exit status 2, before anything is
built; the file keeps its bytes.

Before: ``--work-dir W --cfg-options load_from=W/epoch_2.pth`` trained and
saved its own ``epoch_2.pth`` over the checkpoint it started from (its md5
changed). Real processes of the tool on a real tiny image training run's
work dir (the Runners: ``tests/test_engine/
test_load_from_overwrite_runner.py``; the names:
``tests/test_utils/test_load_from_names.py``)."""
import hashlib
import os
import shutil

import pytest
from config_writers import image_data_cfg, write_config
from refusal_lines import usage_line
from repo_paths import TINY_IMAGE_CONFIG
from tool_runners import dist_train_refusal, run_tool


def _md5(path) -> str:
    with open(path, 'rb') as f:
        return hashlib.md5(f.read()).hexdigest()


@pytest.fixture
def run_copy(tmp_path, tiny_image_data, last_checkpoint_run):
    """``tmp_path/W``, a copy of a trained work dir, and a config of the
    tiny image data."""
    shutil.copytree(
        os.path.dirname(last_checkpoint_run['record']), tmp_path / 'W')
    cfg = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                       image_data_cfg(tiny_image_data))
    return tmp_path / 'W', cfg


def _fix(load_from, work_dir='W', stem='epoch_2'):
    return (f'Train in another work dir (--work-dir {work_dir}_from_{stem}); '
            f'--resume {load_from} continues the run that wrote it instead.')


@pytest.mark.parametrize('case', ['option', 'config', 'link', 'out_dir'])
def test_a_new_run_from_its_own_checkpoint_is_refused(run_copy, tmp_path,
                                                      case):
    work, cfg = run_copy
    args = ['--work-dir', 'W', '--cfg-options', 'load_from=W/epoch_2.pth']
    load_from, where = 'W/epoch_2.pth', 'work dir W'
    if case == 'config':
        cfg = write_config(tmp_path / 'own.py', cfg,
                           "load_from = 'W/epoch_2.pth'\nwork_dir = 'W'\n")
        args = []
    elif case == 'link':
        os.symlink(work / 'epoch_2.pth', tmp_path / 'start.pth')
        args[-1] = 'load_from=start.pth'
        load_from = 'start.pth'
    elif case == 'out_dir':
        # The hook saves in out_dir/<the work dir's name>: tmp_path/W.
        args = [
            '--work-dir', 'runs/W', '--cfg-options', 'load_from=W/epoch_2.pth',
            f'default_hooks.checkpoint.out_dir={tmp_path}'
        ]
        where = f'work dir runs/W (checkpoints in {work}, from out_dir)'
    before = sorted(os.listdir(work))
    digest = _md5(work / 'epoch_2.pth')
    proc = run_tool(['train.py', cfg] + args, cwd=tmp_path, check=False)
    work_dir = 'runs/W' if case == 'out_dir' else 'W'
    assert usage_line(
        proc, absent=['Epoch(train)'], no_dir=str(tmp_path / 'runs')) == (
            f'train.py: error: load_from {load_from}: this new run writes '
            f'its epoch_{{}}.pth checkpoints into its {where}, where they can '
            'replace the file it starts from (now or on a later --resume). ' +
            _fix(load_from, work_dir,
                 'start' if case == 'link' else 'epoch_2'))
    assert _md5(work / 'epoch_2.pth') == digest
    assert sorted(os.listdir(work)) == before


def test_a_file_the_run_does_not_write_is_loaded_as_before(run_copy, tmp_path):
    """Guards kept behaviour: a checkpoint in the work dir under a name the
    hook never writes is loaded, and kept."""
    work, cfg = run_copy
    shutil.copy(work / 'epoch_2.pth', work / 'start.pth')
    digest = _md5(work / 'start.pth')
    proc = run_tool([
        'train.py', cfg, '--work-dir', 'W', '--cfg-options',
        'load_from=W/start.pth'
    ],
                    cwd=tmp_path)
    assert 'Load checkpoint from W/start.pth' in proc.stdout
    assert _md5(work / 'start.pth') == digest


def test_dist_train_prints_the_refusal_once(run_copy, tmp_path,
                                            served_torchrun):
    work, cfg = run_copy
    digest = _md5(work / 'epoch_2.pth')
    dist_train_refusal([
        cfg, 2, '--work-dir', 'W', '--cfg-options', 'load_from=W/epoch_2.pth'
    ], tmp_path, 'load_from W/epoch_2.pth')
    assert _md5(work / 'epoch_2.pth') == digest
