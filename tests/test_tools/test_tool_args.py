# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Argument handling of tools/train.py and tools/test.py."""
import os.path as osp

import pytest
from helpers import TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, TOOLS, load_tool
from mmengine.config import Config
from mmengine.device import get_device


train_tool = load_tool('train.py')
test_tool = load_tool('test.py')


def _train_cfg(argv, config=TINY_VIDEO_CONFIG):
    args = train_tool.parse_args([config] + argv)
    return train_tool.merge_args(Config.fromfile(config), args)


def test_train_defaults():
    cfg = _train_cfg([])
    assert cfg.work_dir == osp.join('./work_dirs', 'tiny_vit_video')
    assert cfg.launcher == 'none'
    assert cfg.resume is False and cfg.load_from is None
    assert cfg.optim_wrapper.get('type', 'OptimWrapper') == 'OptimWrapper'
    assert cfg.auto_scale_lr.enable is False
    assert cfg.randomness == dict(
        seed=None, diff_rank_seed=False, deterministic=False)


def test_train_flags():
    cfg = _train_cfg([
        '--work-dir', 'wd', '--amp', '--auto-scale-lr', '--seed', '7',
        '--diff-rank-seed', '--deterministic', '--no-validate', '--launcher',
        'pytorch', '--cfg-options', 'train_cfg.max_epochs=5',
        'optim_wrapper.optimizer.lr=0.5'
    ])
    assert cfg.work_dir == 'wd'
    # MMEngine's AmpOptimWrapper needs a GPU; without one --amp picks ours.
    assert cfg.optim_wrapper.type == ('CPUAmpOptimWrapper' if get_device()
                                      == 'cpu' else 'AmpOptimWrapper')
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.auto_scale_lr.enable is True
    assert cfg.randomness == dict(
        seed=7, diff_rank_seed=True, deterministic=True)
    assert cfg.val_cfg is None and cfg.val_dataloader is None
    assert cfg.launcher == 'pytorch'
    assert cfg.train_cfg.max_epochs == 5
    assert cfg.optim_wrapper.optimizer.lr == 0.5


def test_train_resume():
    cfg = _train_cfg(['--resume'])
    assert cfg.resume is True and cfg.load_from is None
    cfg = _train_cfg(['--resume', 'work/epoch_3.pth'])
    assert cfg.resume is True and cfg.load_from == 'work/epoch_3.pth'


def test_train_image_config_gets_mmpretrain_dataloader_defaults():
    cfg = _train_cfg(['--seed', '3', '--no-persistent-workers'],
                     config=TINY_IMAGE_CONFIG)
    # mmpretrain's default_runtime sets `randomness`; the CLI seed still wins.
    assert cfg.randomness.seed == 3
    assert cfg.train_dataloader.pin_memory is True
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.train_dataloader.collate_fn == dict(type='default_collate')


def test_train_rejects_amp_with_custom_wrapper():
    args = train_tool.parse_args([TINY_VIDEO_CONFIG, '--amp'])
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.optim_wrapper.type = 'MyWrapper'
    with pytest.raises(ValueError, match="'MyWrapper'"):
        train_tool.merge_args(cfg, args)


def test_test_tool_args():
    args = test_tool.parse_args([
        TINY_VIDEO_CONFIG, 'ckpt.pth', '--dump', 'out.pkl', '--cfg-options',
        'test_dataloader.batch_size=2'
    ])
    cfg = test_tool.merge_args(Config.fromfile(TINY_VIDEO_CONFIG), args)
    assert cfg.load_from == 'ckpt.pth'
    assert cfg.work_dir == osp.join('./work_dirs', 'tiny_vit_video')
    assert cfg.test_evaluator[-1] == dict(
        type='DumpResults', out_file_path='out.pkl')
    assert cfg.test_dataloader.batch_size == 2

    args = test_tool.parse_args(
        [TINY_VIDEO_CONFIG, 'ckpt.pth', '--dump', 'out.json'])
    with pytest.raises(ValueError, match="'out.json'"):
        test_tool.merge_args(Config.fromfile(TINY_VIDEO_CONFIG), args)


def test_shell_scripts_use_torchrun_and_env():
    for name in ('dist_train.sh', 'dist_test.sh'):
        text = open(osp.join(TOOLS, name)).read()
        assert 'torch.distributed.run' in text
        for var in ('NNODES', 'NODE_RANK', 'MASTER_ADDR', 'PORT'):
            assert f'${var}' in text or f'${{{var}' in text, (name, var)
    for name in ('slurm_train.sh', 'slurm_test.sh'):
        assert '--launcher="slurm"' in open(osp.join(TOOLS, name)).read()
