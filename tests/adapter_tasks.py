# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tiny AdaptFormer tasks trained once per session on one stock backbone
that the tests load from a checkpoint file (the ``video_tasks`` fixture of
``tests/conftest.py``)."""
import os.path as osp

import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, pretrained_cfg,
                     save_stock_video_checkpoint, video_data_cfg, write_config)


def train_task(root, name, data, pretrained, extra='', seed=0):
    """Train one tiny task for an epoch; return its config and adapter-only
    checkpoint."""
    from mmengine.config import Config
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.runner import Runner
    cfg_path = write_config(
        osp.join(root, f'{name}.py'), TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(data) + pretrained_cfg(pretrained) + extra)
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = osp.join(root, f'work_{name}')
    cfg.randomness = dict(seed=seed)
    cfg.train_cfg.max_epochs = 1
    cfg.default_hooks.logger.interval = 50
    Runner.from_cfg(cfg).train()
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()
    return dict(
        config=cfg_path, checkpoint=osp.join(cfg.work_dir, 'epoch_1.pth'))


@pytest.fixture(scope='session')
def video_tasks(tmp_path_factory, tiny_video_data):
    """Three tasks on the same stock backbone (``full``: adapters in both
    blocks; ``last``: in the last block only; ``last2``: same layers as
    ``last``, another seed) and one (``other``) on another backbone."""
    root = str(tmp_path_factory.mktemp('video_tasks'))
    stock = osp.join(root, 'stock.pth')
    other = osp.join(root, 'other.pth')
    save_stock_video_checkpoint(stock, seed=0)
    save_stock_video_checkpoint(other, seed=1)
    last = "model['backbone']['layers'] = [-1]\n"
    tasks = dict(
        full=train_task(root, 'full', tiny_video_data, stock, seed=0),
        last=train_task(root, 'last', tiny_video_data, stock, last, seed=1),
        last2=train_task(root, 'last2', tiny_video_data, stock, last, seed=2),
        other=train_task(root, 'other', tiny_video_data, other, seed=3))
    tasks['root'] = root
    tasks['stock'] = stock
    return tasks


def random_task_checkpoints(config, scope, folder, seeds=(1, 2)):
    """Full checkpoints of tasks that share the stock backbone of
    ``config`` (built with seed 0) and differ in random adapters and
    heads (one task per seed), without training: ``folder/task<seed>.pth``.
    """
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope

    from mmadaptformer.models import adapter_modules
    from mmadaptformer.utils import HEAD_NAMES
    init_default_scope(scope)
    torch.manual_seed(0)
    stock = MODELS.build(Config.fromfile(config).model).state_dict()
    checkpoints = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = MODELS.build(Config.fromfile(config).model)
        model.init_weights()
        head_name = next(n for n in HEAD_NAMES if hasattr(model, n))
        model.load_state_dict(
            {
                k: v
                for k, v in stock.items()
                if 'adaptmlp' not in k and not k.startswith(head_name + '.')
            },
            strict=False)
        for adapter in adapter_modules(model).values():
            torch.nn.init.normal_(adapter.up_proj.weight, std=0.5)
        # Some heads (DeiT's) start at zero.
        for param in getattr(model, head_name).parameters():
            torch.nn.init.normal_(param, std=0.5)
        path = osp.join(str(folder), f'task{seed}.pth')
        torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
        checkpoints.append(path)
    return checkpoints


def val_videos(data, num=None):
    """The paths of the tiny video data's validation videos (the first
    ``num``; all by default), in the order of its list: what the tasks are
    scored on."""
    with open(data['val']) as f:
        names = [line.split()[0] for line in f if line.strip()]
    return [osp.join(data['videos'], name) for name in names[:num]]
