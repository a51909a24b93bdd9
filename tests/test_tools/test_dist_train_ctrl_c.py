# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Ctrl-C ends ``tools/dist_train.sh`` (torchrun, two CPU gloo workers)
with one line that says where the run stopped and which checkpoint
``--resume`` goes on from, and exit status 130; the same command with
``--resume`` goes on from it.

Before, the terminal got torchrun's warnings that it received and passed
on the SIGINT, the line of every worker, and torchrun's
``SignalException`` traceback, and the job ended with status 1.
"""
import os
import os.path as osp

from config_writers import image_data_cfg, write_config
from repo_paths import TINY_IMAGE_CONFIG
from stopped_tools import stopped_tool
from tool_runners import free_port, run_tool
from waiting_hook import WAITING

from mmadaptformer.utils import safe_torch_load

#: ``tests/``, where the config's ``custom_imports`` finds the hook.
TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_ctrl_c_ends_a_job_on_one_line_and_resume_goes_on(
        tmp_path, tiny_image_data):
    # Both workers wait once epoch 1 is done and saved (1 iteration each).
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) + 'custom_imports = dict(imports=['
        "'mmadaptformer', 'waiting_hook'])\nparam_scheduler = []\n"
        'train_cfg = dict(max_epochs=2, val_interval=10)\ncustom_hooks = '
        "[dict(type='WaitingHook', point='before_train_epoch', epoch=1)]\n")
    work_dir = str(tmp_path / 'work')
    command = ['dist_train.sh', config, '2', '--work-dir', work_dir]
    status, output = stopped_tool(
        tmp_path,
        command,
        WAITING,
        paths=[TESTS],
        env=dict(PORT=str(free_port())),
        count=2)
    assert status == 130, output[-3000:]
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    # After the last WAITING, one line alone.
    after = output.rsplit(WAITING + '\n', 1)[1]
    assert after.strip().splitlines() == [
        'train.py: stopped by Ctrl-C (SIGINT): in epoch 2 of 2, with 1 of '
        "the run's 2 iterations done; its files are kept, the newest "
        f'checkpoint is {checkpoint}: add --resume to the same command to go '
        'on from it'
    ], output[-3000:]

    run_tool(
        command + ['--resume'],
        cwd=tmp_path,
        env=dict(
            PYTHONPATH=TESTS, PORT=str(free_port()), WAITING_HOOK_OFF='1'))
    assert safe_torch_load(osp.join(work_dir,
                                    'epoch_2.pth'))['meta']['epoch'] == 2
    logs = sorted(p for p in os.listdir(work_dir) if p[0].isdigit())
    with open(osp.join(work_dir, logs[-1], f'{logs[-1]}.log')) as f:
        assert 'resumed epoch: 1, iter: 1' in f.read()
