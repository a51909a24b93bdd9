# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The optimizer wrapper config of ``benchmark_train.py --amp``: the
recipes' ``AdaptAmpOptimWrapper`` under its own name (it was built through
``CPUAmpOptimWrapper``, its first name), with the same behaviour."""
import pytest
import torch
from helpers import TINY_IMAGE_CONFIG
from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import init_default_scope
from torch import nn

from mmadaptformer.benchmark import optim_wrapper_cfg_for
from mmadaptformer.engine import AdaptAmpOptimWrapper


@pytest.mark.parametrize('device', ['cpu', 'cuda'])
def test_amp_names_the_recipes_wrapper_told_to_autocast_on_the_cpu(device):
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.optim_wrapper.update(loss_scale=512., use_fsdp=False)
    optim = optim_wrapper_cfg_for(cfg, 'bf16', device)
    assert optim == dict(
        type='AdaptAmpOptimWrapper',
        optimizer=cfg.optim_wrapper.optimizer.to_dict(),
        dtype='bfloat16',
        device_type=device,
        cpu_bf16=True)
    assert optim_wrapper_cfg_for(cfg, 'none', device) == dict(
        type='OptimWrapper', optimizer=cfg.optim_wrapper.optimizer.to_dict())


def test_bf16_wrapper_autocasts_on_the_cpu_as_before():
    init_default_scope('mmpretrain')
    model = nn.Linear(4, 2)
    wrapper = build_optim_wrapper(
        model,
        optim_wrapper_cfg_for(
            Config.fromfile(TINY_IMAGE_CONFIG), 'bf16', 'cpu'))
    assert type(wrapper) is AdaptAmpOptimWrapper
    with wrapper.optim_context(model):
        assert model(torch.ones(1, 4)).dtype == torch.bfloat16
    wrapper = build_optim_wrapper(
        model,
        optim_wrapper_cfg_for(
            Config.fromfile(TINY_IMAGE_CONFIG), 'none', 'cpu'))
    assert type(wrapper) is OptimWrapper
