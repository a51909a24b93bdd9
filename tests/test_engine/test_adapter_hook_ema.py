# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A stock recipe's ``EMAHook`` (DeiT, MAE fine-tuning) kept beside
``AdapterHook(adapter_only_checkpoint=True)`` trained an epoch, then the
first save failed with ``KeyError: 'backbone.cls_token'`` and the epoch was
lost. It is refused before the first iteration; with full checkpoints EMA
trains, and extract_adapters.py makes the adapter-only file."""
import pytest
import torch
from helpers import load_tool, stripes_config
from mmengine.config import Config
from mmengine.runner import Runner

from mmadaptformer.utils import ConfigError, safe_torch_load


def _runner(tmp_path, data, adapter_only: bool) -> Runner:
    hooks = ("custom_hooks = [dict(type='EMAHook', momentum=0.5, "
             "priority='ABOVE_NORMAL'), dict(type='AdapterHook', "
             f'adapter_only_checkpoint={adapter_only}, '
             'allow_random_backbone=True)]\n'
             'train_cfg = dict(max_epochs=1)\n'
             'default_hooks = dict(checkpoint=dict(interval=1))\n')
    cfg = Config.fromfile(stripes_config(tmp_path, data, hooks))
    cfg.work_dir = str(tmp_path / 'work')
    return Runner.from_cfg(cfg)


def test_ema_beside_adapter_only_checkpoints_is_refused_before_training(
        tmp_path, tiny_image_data, clean_loggers):
    runner = _runner(tmp_path, tiny_image_data, adapter_only=True)
    with pytest.raises(ConfigError) as error:
        runner.train()
    assert str(error.value).startswith(
        'AdapterHook(adapter_only_checkpoint=True) cannot save beside '
        'EMAHook (custom_hooks): ')
    assert 'Set adapter_only_checkpoint=False' in str(error.value)
    assert runner.iter == 0  # no epoch was spent


def test_ema_with_full_checkpoints_then_extracted(tmp_path, tiny_image_data,
                                                  clean_loggers, capsys):
    runner = _runner(tmp_path, tiny_image_data, adapter_only=False)
    runner.train()
    full = tmp_path / 'work' / 'epoch_1.pth'
    checkpoint = safe_torch_load(str(full))
    assert 'ema_state_dict' in checkpoint
    out = tmp_path / 'adapters.pth'
    load_tool('model_converters/extract_adapters.py').main(
        [str(tmp_path / 'stripes.py'),
         str(full), str(out)])
    adapters = safe_torch_load(str(out))['state_dict']
    # The averaged adapters, as EMAHook put them into the state dict.
    key = next(k for k in adapters if 'adaptmlp' in k)
    assert torch.equal(adapters[key], checkpoint['state_dict'][key])
    assert 'backbone.cls_token' not in adapters
