# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The line of a training run stopped by Ctrl-C
(:class:`~mmadaptformer.engine.run_stop.TrainStage`) names the checkpoint
``--resume auto`` goes on from, found where it finds it
(:func:`~mmadaptformer.engine.resume.newest_checkpoints`), on a real
Runner.

Before, it named only an existing path written in ``last_checkpoint``: a
relative one (looked up from the working folder) was "no checkpoint was
saved", and so were the checkpoints of a remote ``out_dir``.
"""
import os

import torch
from config_writers import config_runner
from repo_paths import TINY_IMAGE_CONFIG

from mmadaptformer.engine.run_stop import TrainStage

WHERE = 'before its first iteration'


def _left(runner) -> str:
    stage = TrainStage()
    stage.reach(runner)
    return stage.left()


def _resumed_from(checkpoint) -> str:
    return (f'{WHERE}; its files are kept, the newest checkpoint is '
            f'{checkpoint}: add --resume to the same command to go on from '
            'it')


def test_a_relative_record_names_the_work_dirs_file(tmp_path):
    runner = config_runner(tmp_path, TINY_IMAGE_CONFIG)
    checkpoint = os.path.join(runner.work_dir, 'epoch_1.pth')
    torch.save({'meta': {}, 'state_dict': {}}, checkpoint)
    with open(os.path.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
        f.write('epoch_1.pth')
    assert _left(runner) == _resumed_from(checkpoint)


def test_without_a_checkpoint_the_same_command_starts_again(tmp_path):
    """Guards kept behaviour."""
    runner = config_runner(tmp_path, TINY_IMAGE_CONFIG)
    assert _left(runner) == (
        f'{WHERE}; no checkpoint was saved in {runner.work_dir}: the same '
        'command starts the run again')


def test_a_local_out_dir_is_where_the_checkpoints_are(tmp_path):
    """Guards kept behaviour: the record names the out_dir's file."""
    out_dir = tmp_path / 'out'
    runner = config_runner(
        tmp_path, TINY_IMAGE_CONFIG,
        f'default_hooks = dict(checkpoint=dict(out_dir={str(out_dir)!r}))\n')
    os.makedirs(out_dir / 'work')
    checkpoint = str(out_dir / 'work' / 'epoch_3.pth')
    torch.save({'meta': {}, 'state_dict': {}}, checkpoint)
    with open(os.path.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
        f.write(checkpoint)
    assert _left(runner) == _resumed_from(checkpoint)


def test_a_remote_out_dir_is_not_said_to_hold_nothing(tmp_path):
    runner = config_runner(
        tmp_path, TINY_IMAGE_CONFIG,
        "default_hooks = dict(checkpoint=dict(out_dir='s3://bucket/runs'))\n")
    assert _left(runner) == (
        f'{WHERE}; its files are kept: add --resume to the same command to '
        'go on from the newest checkpoint it saved to its remote out_dir, if '
        'any')
