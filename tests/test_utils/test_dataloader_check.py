# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A dataloader config's own keys and its samplers' arguments are checked
before the Runner; what is wrong is named with the closest right name."""
import pytest
from mmengine.config import Config
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import BatchSampler

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.dataloader_check import (LOADER_KEYS,
                                                  check_dataloaders,
                                                  check_loader_arguments)


def _loader(**kwargs):
    return dict(
        dict(
            batch_size=2,
            num_workers=0,
            persistent_workers=False,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(type='CustomDataset', data_root='none', pipeline=[]),
        ), **kwargs)


@DATA_SAMPLERS.register_module(force=True)
class _CheckedBatchSampler(BatchSampler):
    """A batch sampler as MMDetection's are: the Runner gives it
    ``sampler`` and ``batch_size``."""

    def __init__(self, sampler, batch_size, drop_last=False):
        super().__init__(sampler, batch_size, drop_last)


def _config(**loaders):
    return Config(dict(default_scope='mmpretrain', **loaders))


def test_the_recipes_loaders_pass():
    """Every key MMEngine's Runner reads itself, and DataLoader's, pass."""
    for key in ('num_batch_per_epoch', 'collate_fn', 'worker_init_fn',
                'batch_size', 'pin_memory', 'drop_last', 'prefetch_factor'):
        assert key in LOADER_KEYS
    cfg = _config(
        train_dataloader=_loader(
            collate_fn=dict(type='default_collate'), pin_memory=True),
        val_dataloader=None)
    check_loader_arguments(
        cfg, 'c.py', ['train_dataloader', 'val_dataloader', 'test_dataloader'])


def test_a_key_no_dataloader_takes_names_the_closest():
    cfg = _config(train_dataloader=_loader(batch_sise=16))
    with pytest.raises(ConfigError) as error:
        check_loader_arguments(cfg, 'c.py', ['train_dataloader'])
    assert str(error.value).startswith(
        "c.py: train_dataloader.batch_sise: 'batch_sise' is no dataloader "
        "argument (did you mean 'batch_size' or 'batch_sampler'?); "
        "PyTorch's DataLoader would refuse it after the Runner has made the "
        "work dir. MMEngine's Runner and PyTorch's DataLoader take: dataset, "
        'sampler, ')
    # Given on the command line, the option is named.
    with pytest.raises(
            ConfigError,
            match=r'^--cfg-options train_dataloader'
            r"\.batch_sise=16: 'batch_sise' is no dataloader"):
        check_loader_arguments(cfg, 'c.py', ['train_dataloader'],
                               {'train_dataloader.batch_sise': 16})


def test_a_loader_that_is_no_dict_is_named():
    """mmaction2's own ``slowonly_r50_8xb16-u48-240e_gym-limb.py`` has a
    comma after its ``train_dataloader = dict(...)``; the Runner failed
    with ``AttributeError: 'tuple' object has no attribute 'pop'``."""
    cfg = _config(train_dataloader=(_loader(), ))
    with pytest.raises(ConfigError) as error:
        check_dataloaders(cfg, 'c.py', ['train_dataloader'])
    assert str(error.value) == (
        'c.py: train_dataloader must be a dict such as dict(batch_size=..., '
        'sampler=..., dataset=...), but it is a tuple (a comma after its '
        'dict(...) makes a tuple).')


def test_a_loader_without_a_sampler_is_named():
    loader = _loader()
    del loader['sampler']
    with pytest.raises(ConfigError) as error:
        check_loader_arguments(
            _config(test_dataloader=loader), 'c.py', ['test_dataloader'])
    assert str(error.value) == (
        "c.py: test_dataloader has no sampler; MMEngine's Runner needs one, "
        "e.g. sampler=dict(type='DefaultSampler', shuffle=True).")


@pytest.mark.parametrize('name, sampler, line', [
    ('sampler', dict(type='DefaultSampler', shufle=True),
     'c.py: train_dataloader.sampler.shufle: DefaultSampler takes no '
     "argument 'shufle' (did you mean 'shuffle'?). It takes: shuffle, "
     'round_up.'),
    ('sampler', dict(type='RepeatAugSampler', num_repeat=3),
     'c.py: train_dataloader.sampler.num_repeat: RepeatAugSampler takes no '
     "argument 'num_repeat' (did you mean 'num_repeats'?). It takes: "
     'shuffle, num_repeats.'),
    ('batch_sampler', dict(type='_CheckedBatchSampler', drop_lst=True),
     'c.py: train_dataloader.batch_sampler.drop_lst: _CheckedBatchSampler '
     "takes no argument 'drop_lst' (did you mean 'drop_last'?). It takes: "
     'drop_last.'),
])
def test_a_sampler_argument_its_class_does_not_take_is_named(
        name, sampler, line):
    """The Runner's own arguments (``dataset``, ``seed``; ``sampler``,
    ``batch_size``) are not offered, but a config may still set them."""
    cfg = _config(train_dataloader=_loader(**{name: sampler}))
    with pytest.raises(ConfigError) as error:
        check_loader_arguments(cfg, 'c.py', ['train_dataloader'])
    assert str(error.value) == line
    sampler = {k: v for k, v in sampler.items() if k == 'type'}
    sampler['seed' if name == 'sampler' else 'batch_size'] = 1
    check_loader_arguments(
        _config(train_dataloader=_loader(**{name: sampler})), 'c.py',
        ['train_dataloader'])


def test_a_sampler_type_no_registry_holds_names_the_closest():
    cfg = _config(val_dataloader=_loader(sampler=dict(type='DefaultSamplr')))
    with pytest.raises(ConfigError) as error:
        check_loader_arguments(cfg, 'c.py', ['val_dataloader'])
    assert str(error.value).startswith(
        "c.py: val_dataloader.sampler.type='DefaultSamplr' is not in the "
        "mmpretrain::data sampler registry; did you mean 'DefaultSampler'")


def test_a_runner_of_its_own_may_read_other_keys():
    cfg = _config(
        runner_type='MyRunner', train_dataloader=_loader(batch_sise=16))
    check_loader_arguments(cfg, 'c.py', ['train_dataloader'])
    cfg.runner_type = 'FlexibleRunner'
    with pytest.raises(ConfigError, match='batch_sise'):
        check_loader_arguments(cfg, 'c.py', ['train_dataloader'])


def test_all_three_checks_run_in_order():
    cfg = _config(
        train_dataloader=_loader(
            dataset=dict(
                type='CustomDataset',
                data_root='none',
                bogus=1,
                pipeline=[dict(type='LoadImageFromFile')])))
    check_dataloaders(cfg, 'c.py', ['test_dataloader'])
    with pytest.raises(
            ConfigError,
            match=r"dataset\.bogus: unknown argument 'bogus' of "
            r'CustomDataset\.'):
        check_dataloaders(cfg, 'c.py', ['train_dataloader'])
    cfg.train_dataloader.batch_sise = 1
    with pytest.raises(ConfigError, match='batch_sise'):
        check_dataloaders(cfg, 'c.py', ['train_dataloader'])
    cfg.train_dataloader.dataset.pipeline[0].bogus = 1
    with pytest.raises(
            ConfigError, match=r'pipeline\[0\] '
            r'\(LoadImageFromFile\)'):
        check_dataloaders(cfg, 'c.py', ['train_dataloader'])
