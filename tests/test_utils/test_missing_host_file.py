# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A check of an adapter-only checkpoint whose frozen host's pretrained
file is gone names that file.

The check's dry run of the load reads the host's pretrained file (the
load completes the adapter-only state dict with it); its plain
``FileNotFoundError`` was taken for a failure of a foreign load hook, the
keys were compared without the hooks, and the refusal said the adapter-only
file "is damaged, or was saved from a smaller architecture", listing the
host's tensors as missing, after a warning.
"""
import logging
import os
import os.path as osp

import pytest
import torch
from adapter_only_files import adapter_only_as_written
from checkpoint_makers import save_stock_image_checkpoint
from config_writers import pretrained_cfg, write_config
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from repo_paths import CONFIGS

from mmadaptformer.utils import CheckpointNotFoundError, safe_torch_load
from mmadaptformer.utils.state_dict_check import check_state_dict


@pytest.fixture
def host_file_gone(tmp_path) -> dict:
    """An adapter-only file trained on ``stock.pth``, then ``stock.pth``
    moved away; the config still names it."""
    from mmadaptformer.engine import build_model_and_plan
    stock = str(tmp_path / 'stock.pth')
    save_stock_image_checkpoint(stock, seed=0)
    config = write_config(
        str(tmp_path / 'adaptformer.py'),
        osp.join(CONFIGS, 'tiny', 'tiny_adaptformer_image.py'),
        pretrained_cfg(stock))
    adapters = str(tmp_path / 'adapters.pth')
    torch.save(
        adapter_only_as_written(
            *build_model_and_plan(Config.fromfile(config))), adapters)
    os.rename(stock, str(tmp_path / 'moved.pth'))
    return dict(config=config, adapters=adapters, stock=stock)


def _says_the_host_file_is_gone(error: Exception, stock: str) -> None:
    assert isinstance(error, FileNotFoundError)
    assert str(error) == (
        f'Checkpoint file not found: {stock} (the checkpoint of '
        'model.backbone.backbone.init_cfg)')


def test_check_names_the_missing_host_file(host_file_gone, log_records):
    t = host_file_gone
    init_default_scope('mmpretrain')
    model = MODELS.build(Config.fromfile(t['config']).model)
    with pytest.raises(CheckpointNotFoundError) as e:
        check_state_dict(model,
                         safe_torch_load(t['adapters'])['state_dict'],
                         f'load_from {t["adapters"]}')
    _says_the_host_file_is_gone(e.value, t['stock'])
    assert not [r for r in log_records if r.levelno >= logging.WARNING]


def test_get_model_names_the_missing_host_file(host_file_gone):
    """Guards kept behaviour, through mmpretrain's own API (its load is a
    real one, which raised the file's error before too)."""
    from mmpretrain.apis import get_model
    t = host_file_gone
    with pytest.raises(CheckpointNotFoundError) as e:
        get_model(t['config'], pretrained=t['adapters'])
    _says_the_host_file_is_gone(e.value, t['stock'])
