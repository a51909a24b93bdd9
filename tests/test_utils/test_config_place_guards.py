# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Config refusals that a plausible slip in the check would lose: each
test names the slip it guards against (found by a mutation audit)."""
import pytest
from config_writers import video_data_cfg, write_config
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG
from mmengine.config import Config
from mmengine.registry import OPTIMIZERS
from torch import nn

from mmadaptformer.engine.head_classes_check import check_head_classes
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.cfgopt_variables import (refuse_copied_variables,
                                                  unread_variables)
from mmadaptformer.utils.config_mistakes import naming_config_mistakes
from mmadaptformer.utils.config_place import option_place
from mmadaptformer.utils.runner_check import check_hooks
from mmadaptformer.utils.scheduler_check import check_param_scheduler


def test_the_last_option_above_a_key_is_named():
    """Guards against option_key naming the first option above the key:
    MMEngine merges --cfg-options in order, so the last one set it."""
    options = {
        'model': dict(backbone=dict(depth=1)),
        'model.backbone': dict(depth=2)
    }
    cfg = Config(dict(model=dict(backbone=dict(depth=0, width=0))))
    cfg.merge_from_dict(options)
    assert cfg.model.backbone.depth == 2
    assert option_place('model.backbone.depth', options) == (
        'model.backbone.depth, set by --cfg-options model.backbone='
        "{'depth': 2}")


def test_a_shortened_argument_gets_its_close_match():
    """Guards against a raised close-match cutoff in close_hint: 'wdecay'
    for 'weight_decay' (ratio 0.67, above difflib's default 0.6) must
    still be named."""
    cfg = Config(dict(optimizer=dict(type='SGD', lr=0.1, wdecay=1e-4)))
    with pytest.raises(ConfigError) as error, \
            naming_config_mistakes(cfg, 'c.py'):
        OPTIMIZERS.build(
            dict(cfg.optimizer, params=nn.Linear(2, 2).parameters()))
    assert str(error.value) == (
        "c.py: optimizer.wdecay: SGD takes no argument 'wdecay' (did you "
        "mean 'weight_decay'?).")


def test_the_second_dataset_of_a_concat_dataset_is_compared(
        tmp_path, tiny_video_data):
    """Guards against check_head_classes reading only the first dataset a
    loader holds: a ConcatDataset's second of 51 classes for a head of
    2."""
    cfg = Config.fromfile(
        write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                     video_data_cfg(tiny_video_data)))
    first = cfg.train_dataloader.dataset
    cfg.train_dataloader.dataset = dict(
        type='ConcatDataset',
        datasets=[first, dict(first, num_classes=51)],
        ignore_keys=['classes'])
    with pytest.raises(ConfigError) as error:
        check_head_classes(cfg, 'cfg.py', ['train_dataloader'])
    assert str(error.value).startswith(
        'cfg.py: model.cls_head.num_classes=2 but '
        'train_dataloader.dataset.datasets.1.num_classes=51.')


def test_a_custom_hook_set_by_an_option_is_named_as_written():
    """Guards against check_hooks looking the option up under
    ``custom_hooks.N`` instead of the config key ``custom_hooks[N]``."""
    options = {'custom_hooks': [dict(type='EMAHook'), dict(priority='LOW')]}
    cfg = Config(dict(custom_hooks=[]))
    cfg.merge_from_dict(options)
    with pytest.raises(ConfigError) as error:
        check_hooks(cfg, 'c.py', options)
    assert str(error.value) == (
        "custom_hooks[1], set by --cfg-options custom_hooks=[{'type': "
        "'EMAHook'}, {'priority': 'LOW'}]: custom_hooks[1] is a dict without "
        "a type ({'priority': 'LOW'}); the Runner builds each custom hook "
        "from a dict with a type, such as dict(type='EMAHook').")


def test_a_scheduler_of_one_optimizer_is_named_under_its_name():
    """Guards against scheduler_entries dropping the optimizer name of a
    per-optimizer ``param_scheduler`` (an ``OptimWrapperDict``'s):
    ``param_scheduler[1]`` is no key of such a config."""
    cfg = Config(
        dict(
            train_cfg=dict(by_epoch=True, max_epochs=2),
            param_scheduler=dict(
                backbone=[
                    dict(type='LinearLR', end=1),
                    dict(type='CosineAnnealingLR', begin=3, end=3)
                ],
                head=dict(type='ConstantLR'))))
    with pytest.raises(ConfigError) as error:
        check_param_scheduler(cfg, 'c.py', {})
    assert str(error.value) == (
        'c.py: param_scheduler.backbone[1] (CosineAnnealingLR) has begin=3 '
        'and end=3 (epochs); MMEngine would refuse it once training starts '
        '(end should be larger than begin). Give '
        'param_scheduler.backbone[1].end a value above 3, or '
        'param_scheduler.backbone[1].begin one below 3.')


def _copied_root_refusal(options):
    """What refuse_copied_variables says of ``options`` for a config whose
    data_root 'data/k' was copied into one dataset key, and begins
    another path ('data/k400.txt') that is no copy of it."""
    cfg = Config(
        dict(
            data_root='data/k',
            train_dataloader=dict(
                dataset=dict(
                    type='VideoDataset',
                    ann_file='data/k400.txt',
                    data_prefix=dict(video='data/k/videos')))))
    old = unread_variables(cfg, options)
    cfg.merge_from_dict(options)
    try:
        refuse_copied_variables(cfg, options, old)
    except ConfigError as error:
        return str(error)
    return None


def test_only_paths_under_the_variable_are_its_copies():
    """Guards against _is_copy taking any string that begins with the old
    value for a copy ('data/k400.txt' of 'data/k', without the '/')."""
    assert _copied_root_refusal({
        'data_root': 'data/m'
    }) == ('--cfg-options data_root=data/m changes nothing: the config file '
           "copied its variable data_root ('data/k') into "
           'train_dataloader.dataset.data_prefix.video when it was read, and '
           'nothing reads data_root itself. Set those keys instead: '
           '--cfg-options train_dataloader.dataset.data_prefix.video='
           'data/m/videos')


def test_a_copy_an_option_above_it_set_is_not_refused():
    """Guards against _set_by matching only the option of the key itself:
    an option that set the whole dataset dict set its data_prefix too, so
    a right command line is refused."""
    assert _copied_root_refusal({
        'data_root':
        'data/m',
        'train_dataloader.dataset':
        dict(data_prefix=dict(video='data/k/videos'))
    }) is None
