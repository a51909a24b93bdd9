# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``_delete_=True`` no base config consumed, through the tools, our
inference API and mmpretrain's.

``tools/test.py`` stopped with the ``TypeError`` of the transform built
with it once the Runner had made the work dir; an adapter-only checkpoint
loaded through ``init_model`` (ours and mmpretrain's) failed reading the
frozen backbone's weights: ``PretrainedLoadError ... TypeError:
PretrainedInit.__init__() got an unexpected keyword argument '_delete_'``
(mmpretrain's: the bare ``TypeError``). Each now names the key and what to
remove, before anything is built or written.
"""
import pytest
import torch
from adapter_only_files import built_with_adapter_only
from checkpoint_makers import save_stock_image_checkpoint
from config_writers import image_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG, TINY_IMAGE_CONFIG
from tool_runners import run_tool

from mmadaptformer.utils import ConfigError


def _kept(config: str, key: str) -> str:
    return (f'{config}: {key}._delete_: _delete_=True replaces the value '
            f'that a base config gives {key}, but none gives it one: '
            'MMEngine then keeps _delete_ as a key. Remove _delete_=True '
            f'from {key}.')


def _test(tmp_path, data: str, body: str):
    stock = str(tmp_path / 'stock.pth')
    save_stock_image_checkpoint(stock)
    config = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(data) + body)
    proc = run_tool(['test.py', config, stock, '--work-dir', tmp_path / 'w'],
                    tmp_path,
                    check=False)
    return config, proc


def test_test_py_names_one_in_the_test_pipeline(tmp_path, tiny_image_data):
    # A list replaces its base's whole: its dicts keep _delete_.
    config, proc = _test(
        tmp_path, tiny_image_data,
        'test_dataloader = dict(dataset=dict(pipeline=['
        "dict(type='LoadImageFromFile', _delete_=True), "
        "dict(type='PackInputs')]))\n")
    assert refused_line(
        proc, no_dir=tmp_path /
        'w') == ('ConfigError: ' +
                 _kept(config, 'test_dataloader.dataset.pipeline[0]'))


def test_test_py_passes_one_only_training_builds(tmp_path, tiny_image_data):
    """tools/test.py builds no training pipeline; tools/train.py refuses
    the same config before it makes the work dir."""
    config, proc = _test(
        tmp_path, tiny_image_data,
        'train_dataloader = dict(dataset=dict(pipeline=['
        "dict(type='LoadImageFromFile', _delete_=True), "
        "dict(type='PackInputs')]))\n")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'accuracy/top1' in proc.stdout
    train = run_tool(['train.py', config, '--work-dir', tmp_path / 't'],
                     tmp_path,
                     check=False)
    assert refused_line(
        train, no_dir=tmp_path /
        't') == ('ConfigError: ' +
                 _kept(config, 'train_dataloader.dataset.pipeline[0]'))


def test_test_py_names_one_in_paramwise_cfg(tmp_path, tiny_image_data):
    """tools/test.py checks optim_wrapper.paramwise_cfg's keys: there too
    it is named as kept, not as an unknown paramwise_cfg key."""
    config, proc = _test(
        tmp_path, tiny_image_data,
        'optim_wrapper = dict(paramwise_cfg=dict(_delete_=True, '
        'norm_decay_mult=0.))\n')
    assert refused_line(
        proc, no_dir=tmp_path /
        'w') == ('ConfigError: ' +
                 _kept(config, 'optim_wrapper.paramwise_cfg'))


@pytest.fixture
def kept_in_host_init_cfg(tmp_path):
    """An AdaptFormer config whose host ``init_cfg`` keeps ``_delete_``
    (written whole: the tiny config's base sets it, to None, and would
    consume it), and an adapter-only checkpoint of it."""
    from mmengine.config import Config
    stock = str(tmp_path / 'stock.pth')
    save_stock_image_checkpoint(stock)
    cfg = Config.fromfile(TINY_ADAPTFORMER_IMAGE_CONFIG)
    cfg.model.backbone.backbone.init_cfg = dict(
        _delete_=True, type='Pretrained', checkpoint=stock, prefix='backbone.')
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    adapters = str(tmp_path / 'adapters.pth')
    torch.save(
        built_with_adapter_only(TINY_ADAPTFORMER_IMAGE_CONFIG)[2], adapters)
    return config, adapters


def test_init_model_names_it_before_building(kept_in_host_init_cfg):
    from mmadaptformer.apis import init_model
    config, adapters = kept_in_host_init_cfg
    with pytest.raises(ConfigError) as info:
        init_model(config, adapters, device='cpu')
    assert str(info.value) == _kept(config, 'model.backbone.backbone.init_cfg')


def test_mmpretrain_init_model_names_it_at_the_wrapper(kept_in_host_init_cfg):
    """mmpretrain's API reads no config check of ours: the wrapper refuses
    it where every load of the frozen backbone passes."""
    from mmpretrain.apis import init_model
    config, adapters = kept_in_host_init_cfg
    with pytest.raises(ConfigError) as info:
        init_model(config, adapters, device='cpu')
    key = 'model.backbone.backbone.init_cfg'
    assert str(info.value) == _kept(config, key).split(': ', 1)[1]
