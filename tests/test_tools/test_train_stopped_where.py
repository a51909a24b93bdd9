# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a ``tools/train.py`` run stopped by Ctrl-C says of where it
stopped is true in each state of MMEngine's loops: between epochs, after a
``--resume``, while validating, in an iteration-based run. A real process,
held at that point by ``tests/waiting_hook.py``, gets a real SIGINT.

Before, the line read the message hub's ``epoch`` and ``iter``, which say
which iteration *started* last: a run stopped between epochs, 2 of its
iterations done and loading the third's batch, was "in epoch 2, iteration
2 of the run".
"""
import os.path as osp

import pytest
from config_writers import image_data_cfg, write_config
from repo_paths import TINY_IMAGE_CONFIG
from stopped_tools import stopped_tool
from waiting_hook import WAITING

#: ``tests/``, where the config's ``custom_imports`` finds the hook.
TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: The end of the line of a run whose newest checkpoint is ``{}``.
KEPT = ('; its files are kept, the newest checkpoint is {}: add --resume to '
        'the same command to go on from it')


def _config(tmp_path, data: str, body: str) -> str:
    """The tiny image config (2 iterations an epoch) with ``body``, holding
    the ``WaitingHook`` its ``custom_hooks`` name."""
    return write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(data) + 'custom_imports = dict(imports=['
        "'mmadaptformer', 'waiting_hook'])\nparam_scheduler = []\n" + body)


def _last_line(tmp_path, args) -> str:
    """The one line ``tools/train.py args`` ends with, stopped once its
    ``WaitingHook`` waits."""
    status, output = stopped_tool(
        tmp_path, ['train.py', *args], WAITING, paths=[TESTS])
    assert status == 130, output[-3000:]
    assert 'Traceback' not in output, output[-3000:]
    return output.strip().splitlines()[-1]


def test_between_epochs_and_after_a_resume(tmp_path, tiny_image_data):
    work_dir = str(tmp_path / 'work')
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    # Held as epoch 2 begins: epoch 1's 2 iterations done and saved.
    config = _config(
        tmp_path, tiny_image_data,
        'train_cfg = dict(max_epochs=3, val_interval=10)\ncustom_hooks = '
        "[dict(type='WaitingHook', point='before_train_epoch', epoch=1)]\n")
    assert _last_line(tmp_path, [
        config, '--work-dir', work_dir
    ]) == ('train.py: stopped by Ctrl-C (SIGINT): in epoch 2 of 3, with 2 of '
           "the run's 6 iterations done" + KEPT.format(checkpoint))
    # Resumed from epoch_1.pth, held once the resumed loop begins.
    config = _config(
        tmp_path, tiny_image_data,
        'train_cfg = dict(max_epochs=3, val_interval=10)\ncustom_hooks = '
        "[dict(type='WaitingHook', point='before_train')]\n")
    assert _last_line(tmp_path, [
        config, '--work-dir', work_dir, '--resume'
    ]) == ('train.py: stopped by Ctrl-C (SIGINT): in epoch 2 of 3, with 2 '
           "of the run's 6 iterations done" + KEPT.format(checkpoint))


def test_while_validating_after_an_epoch(tmp_path, tiny_image_data):
    work_dir = str(tmp_path / 'work')
    config = _config(
        tmp_path, tiny_image_data,
        'train_cfg = dict(max_epochs=3, val_interval=1)\ncustom_hooks = '
        "[dict(type='WaitingHook', point='before_val_epoch')]\n")
    assert _last_line(tmp_path, [config, '--work-dir', work_dir]) == (
        'train.py: stopped by Ctrl-C (SIGINT): while validating after epoch '
        '1 of 3' + KEPT.format(osp.join(work_dir, 'epoch_1.pth')))


@pytest.mark.parametrize('point, where', [
    ("point='before_train_iter', iter=3",
     "with 3 of the run's 5 iterations done"),
    ("point='before_val_epoch'", 'while validating after iteration 3 of 5'),
])
def test_an_iteration_based_run_counts_no_epochs(tmp_path, tiny_image_data,
                                                 point, where):
    work_dir = str(tmp_path / 'work')
    config = _config(
        tmp_path, tiny_image_data,
        "train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', "
        'max_iters=5, val_interval=3)\ndefault_hooks = dict(checkpoint=dict('
        'by_epoch=False, interval=2))\ncustom_hooks = [dict('
        f"type='WaitingHook', {point})]\n")
    assert _last_line(
        tmp_path, [config, '--work-dir', work_dir
                   ]) == (f'train.py: stopped by Ctrl-C (SIGINT): {where}' +
                          KEPT.format(osp.join(work_dir, 'iter_2.pth')))
