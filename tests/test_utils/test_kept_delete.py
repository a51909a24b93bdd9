# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``_delete_=True`` that MMEngine kept as a key: named where no base
config consumed it, in what the caller builds, and nowhere else."""
import os.path as osp

import mmaction
import pytest
from config_writers import write_config
from mmengine.config import Config
from repo_paths import TINY_IMAGE_CONFIG

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.kept_delete import (RUNNER_KEYS, TRAINING_KEYS,
                                             kept_delete_keys,
                                             refuse_kept_delete)

#: mmaction2's Kinetics-710 recipe: ``k710_trainset`` (and the val and
#: test sets) are plain variables that keep ``_delete_``; the copies in
#: the dataloaders replace their base's dataset and are merged.
K710 = osp.join(
    osp.dirname(mmaction.__file__), '.mim', 'configs', 'recognition',
    'slowonly', 'slowonly_imagenet-pretrained-r50_32xb8-8x8x1-steplr-150e_'
    'kinetics710-rgb.py')


def test_keys_outer_before_inner_through_lists():
    tree = dict(
        a=dict(_delete_=True, b=dict(_delete_=True)),
        pipeline=[dict(type='X'),
                  dict(type='Y', _delete_=True)],
        c=1)
    assert list(kept_delete_keys(
        tree, 'top')) == ['top.a', 'top.a.b', 'top.pipeline[1]']


def test_a_key_no_base_sets_is_refused_naming_file_and_key(tmp_path):
    # The tiny image ViT sets no init_cfg: nothing consumes _delete_.
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        'model = dict(backbone=dict(init_cfg=dict(_delete_=True, '
        "type='Pretrained', checkpoint='x.pth')))\n")
    with pytest.raises(ConfigError) as info:
        refuse_kept_delete(Config.fromfile(config), config)
    key = 'model.backbone.init_cfg'
    assert str(info.value) == (
        f'{config}: {key}._delete_: _delete_=True replaces the value that a '
        f'base config gives {key}, but none gives it one: MMEngine then '
        f'keeps _delete_ as a key. Remove _delete_=True from {key}.')


def test_a_key_the_base_sets_is_merged_and_passes(tmp_path):
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        "optim_wrapper = dict(_delete_=True, optimizer=dict(type='SGD', "
        'lr=0.1))\n')
    cfg = Config.fromfile(config)
    assert list(kept_delete_keys(cfg.to_dict())) == []
    refuse_kept_delete(cfg, config)


def test_the_option_that_set_it_is_named(tmp_path):
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    options = {
        'model.backbone.init_cfg._delete_': True,
        'model.backbone.init_cfg.type': 'Pretrained'
    }
    cfg.merge_from_dict(options)
    with pytest.raises(
            ConfigError,
            match=r'^--cfg-options model\.backbone\.init_cfg\.'
            r'_delete_=True: _delete_=True replaces'):
        refuse_kept_delete(cfg, TINY_IMAGE_CONFIG, options)


def test_only_the_keys_the_caller_builds_are_read(tmp_path):
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        'optim_wrapper = dict(paramwise_cfg=dict(_delete_=True, '
        'norm_decay_mult=0.))\n'
        "unused = dict(type='Pretrained', _delete_=True)\n")
    cfg = Config.fromfile(config)
    # Training builds optim_wrapper; testing does not, nor the variable.
    with pytest.raises(ConfigError, match='optim_wrapper.paramwise_cfg'):
        refuse_kept_delete(cfg, config)
    refuse_kept_delete(
        cfg, config, keys=[k for k in RUNNER_KEYS if k not in TRAINING_KEYS])
    refuse_kept_delete(cfg, config, keys=['model'])


def test_mmaction2_k710_recipe_passes():
    """Its plain variables keep ``_delete_``; the Runner never reads them,
    and the dataloaders' copies were merged."""
    cfg = Config.fromfile(K710)
    kept = list(kept_delete_keys(cfg.to_dict()))
    assert kept == ['k710_trainset', 'k710_valset', 'k710_testset'], kept
    refuse_kept_delete(cfg, K710)


def test_runner_keys_are_the_runners_arguments():
    assert {
        'model', 'train_dataloader', 'test_dataloader', 'optim_wrapper',
        'default_hooks', 'custom_hooks', 'env_cfg', 'randomness',
        'model_wrapper_cfg'
    } <= set(RUNNER_KEYS)
    assert 'cfg' not in RUNNER_KEYS and 'self' not in RUNNER_KEYS
    assert set(TRAINING_KEYS) <= set(RUNNER_KEYS)


def test_the_type_error_of_a_built_dict_is_worded_the_same():
    """Where a path builds without the check, the ``TypeError`` itself is
    named the same way, with the class that refused the argument."""
    from mmadaptformer.utils.config_mistakes import argument_miss
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.backbone.init_cfg = dict(
        _delete_=True, type='Pretrained', checkpoint='x.pth')
    error = argument_miss(
        TypeError('PretrainedInit.__init__() got an unexpected keyword '
                  "argument '_delete_'"), cfg, 'cfg.py')
    key = 'model.backbone.init_cfg'
    assert str(error) == (
        f'cfg.py: {key}._delete_: _delete_=True replaces the value that a '
        f'base config gives {key}, but none gives it one: MMEngine then '
        'keeps _delete_ as a key, and Pretrained (through '
        "PretrainedInit.__init__) takes no argument '_delete_'. Remove "
        f'_delete_=True from {key}.')
