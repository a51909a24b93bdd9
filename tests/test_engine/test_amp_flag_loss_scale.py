# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py --amp`` (:func:`~mmadaptformer.engine.optimizers.
amp_config.apply_amp_flag`) keeps a loss scale the config sets, and gives
dynamic scaling only where it sets none."""
import pytest
from helpers import TINY_IMAGE_CONFIG
from mmengine.config import Config

from mmadaptformer.engine.optimizers import amp_config


@pytest.mark.parametrize(
    'loss_scale', [512., dict(init_scale=8., growth_interval=3)],
    ids=['static', 'dict'])
def test_amp_keeps_the_configs_loss_scale(loss_scale):
    """Guards ``--amp`` writing ``loss_scale='dynamic'`` over the config's:
    a static scale (or GradScaler arguments) set on purpose for a GPU run
    was silently replaced."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.optim_wrapper.loss_scale = loss_scale
    amp_config.apply_amp_flag(cfg, 'cfg.py')
    assert cfg.optim_wrapper.type == 'AdaptAmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == loss_scale


def test_amp_gives_dynamic_scaling_where_the_config_sets_none():
    """Guard of kept behaviour: no ``loss_scale`` becomes ``'dynamic'``."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    assert 'loss_scale' not in cfg.optim_wrapper
    amp_config.apply_amp_flag(cfg, 'cfg.py')
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
