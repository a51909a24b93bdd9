# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A run resumed from a checkpoint saved during validation, stopped by
Ctrl-C before its train loop starts, says where its loop really is.

With ``save_best``, MMEngine 0.10.7 saves the epoch checkpoint again once
validation finds a better score (so that its message hub names the new
best file): that ``epoch_1.pth`` holds ``loop_stage='val'``, which a
resume loads and the loop's ``before_train`` (MMEngine's
``RuntimeInfoHook``) sets to ``'train'`` only later. The line read the
loaded stage: "while validating after epoch 1 of 3" of a run that was
not validating. A real process, held by ``tests/waiting_hook.py`` at
``before_train`` ahead of ``RuntimeInfoHook`` (the hub still the
checkpoint's), gets a real SIGINT."""
import os.path as osp

from config_writers import image_data_cfg, write_config
from repo_paths import TINY_IMAGE_CONFIG
from stopped_tools import stopped_tool
from tool_runners import run_tool
from waiting_hook import WAITING

from mmadaptformer.utils import safe_torch_load

#: ``tests/``, where the config's ``custom_imports`` finds the hook.
TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _config(tmp_path, data: str, body: str = '') -> str:
    return write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(data) + 'custom_imports = dict(imports=['
        "'mmadaptformer', 'waiting_hook'])\nparam_scheduler = []\n"
        'train_cfg = dict(max_epochs=3, val_interval=1)\n'
        "default_hooks = dict(checkpoint=dict(save_best='auto'))\n" + body)


def test_a_resume_stopped_before_its_loop_is_not_validating(
        tmp_path, tiny_image_data):
    work_dir = str(tmp_path / 'work')
    config = _config(tmp_path, tiny_image_data)
    # One epoch: epoch_1.pth, saved again by the validation's new best.
    run_tool([
        'train.py', config, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_epochs=1'
    ],
             cwd=tmp_path,
             env=dict(PYTHONPATH=TESTS))
    epoch = osp.join(work_dir, 'epoch_1.pth')
    hub = safe_torch_load(epoch, map_location='cpu')['message_hub']
    assert hub['runtime_info']['loop_stage'] == 'val'
    config = _config(
        tmp_path, tiny_image_data,
        "custom_hooks = [dict(type='WaitingHook', point='before_train', "
        "priority='HIGHEST')]\n")
    status, output = stopped_tool(
        tmp_path, ['train.py', config, '--work-dir', work_dir, '--resume'],
        WAITING,
        paths=[TESTS])
    assert status == 130, output[-3000:]
    assert 'Traceback' not in output, output[-3000:]
    assert output.strip().splitlines()[-1] == (
        'train.py: stopped by Ctrl-C (SIGINT): in epoch 2 of 3, with 2 of '
        "the run's 6 iterations done; its files are kept, the newest "
        f'checkpoint is {epoch}: add --resume to the same command to go on '
        'from it')
