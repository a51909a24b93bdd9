# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The tasks and inputs the inference benchmarks measure, made here.

Weights are random (speed does not depend on them): a stock backbone
checkpoint is written once and every task is a real adapter-only checkpoint
trained on it (random adapters and head, saved as the ``AdapterHook``
saves them), with its config; inputs are random tensors shaped as the
config's test pipeline gives them. Nothing is downloaded.
"""
import copy
import os.path as osp
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.engine import build_model_and_plan, make_adapter_checkpoint
from mmadaptformer.models import adapter_modules
from mmadaptformer.utils.atomic_save import atomic_torch_save
from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.fingerprint import state_fingerprints
from .inputs import toolbox_of
from .test_pipeline import test_pipeline_cfg

__all__ = ['stock_cfg', 'synthetic_inputs', 'write_tasks']


def synthetic_inputs(cfg: Config, num: int, seed: int = 0) -> List[dict]:
    """Test-pipeline outputs of ``num`` random clips or images of the
    backbone's input size, one view each."""
    backbone = cfg.model.backbone
    host = backbone.get('backbone', backbone)
    size = host.get('img_size', 224)
    generator = torch.Generator().manual_seed(seed)
    if toolbox_of(cfg) == 'mmaction':
        from mmaction.structures import ActionDataSample as Sample
        shape = (1, 3, host.get('num_frames', 8), size, size)
    else:
        from mmpretrain.structures import DataSample as Sample
        shape = (3, size, size)
    return [
        dict(
            inputs=torch.randint(
                0, 256, shape, dtype=torch.uint8, generator=generator),
            data_samples=Sample()) for _ in range(num)
    ]


def stock_cfg(cfg: Config) -> Config:
    """The stock model of an AdaptFormer config, with random weights: the
    host's own pretrained file or address is not loaded."""
    stock = copy.deepcopy(cfg)
    stock.model.backbone = stock.model.backbone.backbone
    stock.model.backbone.pop('pretrained', None)
    stock.model.backbone.init_cfg = None
    return stock


def _test_pipeline_like(cfg: Config) -> list:
    """A one-view test pipeline giving the synthetic inputs' shape."""
    host = cfg.model.backbone.get('backbone', cfg.model.backbone)
    size = host.get('img_size', 224)
    if toolbox_of(cfg) == 'mmaction':
        return [
            dict(type='DecordInit'),
            dict(
                type='SampleFrames',
                clip_len=host.get('num_frames', 8),
                frame_interval=4,
                num_clips=1,
                test_mode=True),
            dict(type='DecordDecode'),
            dict(type='Resize', scale=(-1, size)),
            dict(type='CenterCrop', crop_size=size),
            dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackActionInputs')
        ]
    return [
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=size, edge='short'),
        dict(type='CenterCrop', crop_size=size),
        dict(type='PackInputs')
    ]


def write_tasks(cfg: Config,
                root: str,
                num: int,
                layers: Optional[Sequence[int]] = None) -> List[dict]:
    """Write a stock backbone checkpoint and ``num`` adapter-only task
    checkpoints (random adapters and heads) with their configs.

    Args:
        cfg (Config): An AdaptFormer config with an AdapterHook.
        root (str): Output folder.
        num (int): Number of tasks.
        layers (Sequence[int], optional): Adapted blocks. Defaults to the
            config's.

    Returns:
        list[dict]: ``dict(name, config, checkpoint)`` per task.
    """
    scope = toolbox_of(cfg)
    init_default_scope(scope)
    stock_path = osp.join(root, 'stock.pth')
    if not osp.isfile(stock_path):
        torch.manual_seed(0)
        stock = MODELS.build(stock_cfg(cfg).model)
        stock.init_weights()
        # Reused when there: a run killed while writing must not leave a
        # truncated one for the next run in this --work-dir.
        atomic_torch_save({
            'state_dict': stock.state_dict(),
            'meta': {}
        }, stock_path)
        stock = None  # frees it
    task_cfg = copy.deepcopy(cfg)
    try:
        test_pipeline_cfg(task_cfg)
    except ConfigError:
        # Benchmark configs may only describe training; the inputs are
        # synthetic, but a task needs a test pipeline of that shape.
        task_cfg.test_dataloader = dict(
            dataset=dict(pipeline=_test_pipeline_like(task_cfg)))
    task_cfg.model.backbone.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=stock_path, prefix='backbone.')
    if layers is not None:
        task_cfg.model.backbone.layers = list(layers)
    tag = 'all' if layers is None else 'l' + '_'.join(map(str, layers))
    tasks = []
    for i in range(num):
        name = f'task{i}_{tag}'
        torch.manual_seed(i + 1)
        model, plan = build_model_and_plan(task_cfg)
        for adapter in adapter_modules(model).values():
            torch.nn.init.normal_(adapter.up_proj.weight, std=0.02)
        state = model.state_dict()
        frozen = set(plan.frozen_keys)
        # As the AdapterHook saves it: the trained keys, the digest of the
        # frozen ones and the wrapper's per-tensor record.
        checkpoint = make_adapter_checkpoint({
            'state_dict': state,
            'meta': {}
        },
                                             plan,
                                             state_fingerprints(
                                                 (k, v)
                                                 for k, v in state.items()
                                                 if k in frozen),
                                             model=model)
        path = osp.join(root, f'{name}.pth')
        torch.save(checkpoint, path)
        config = osp.join(root, f'{name}.py')
        task_cfg.dump(config)
        tasks.append(dict(name=name, config=config, checkpoint=path))
    return tasks
