# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``--cfg-options`` entry that set a key above the one refused
(``custom_hooks=[...]`` for ``custom_hooks[0].head``) is named as where
the key was set: the refusals blamed the config file for it."""
import pytest
from mmengine.config import Config

from mmadaptformer.engine.train_loop_check import check_train_loop
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.config_place import (ABSENT, mistake_place,
                                              option_key, option_place,
                                              value_at)

HOOKS = {'custom_hooks': [dict(type='AdapterHook', head=['x'])]}


def test_an_option_above_the_key_set_it():
    assert option_key('custom_hooks[0].head', HOOKS) == 'custom_hooks'
    assert option_key('model.cls_head.num_classes',
                      {'model.cls_head': dict(num_classes=5)}) == \
        'model.cls_head'


def test_the_place_names_the_key_and_the_option():
    option = "--cfg-options custom_hooks=[{'type': 'AdapterHook', " \
        "'head': ['x']}]"
    assert mistake_place('cfg.py', 'custom_hooks[0].head', HOOKS) == \
        f'custom_hooks[0].head, set by {option}'
    assert mistake_place('cfg.py', 'custom_hooks[0].head', HOOKS,
                         ['x']) == \
        f"custom_hooks[0].head = ['x'], set by {option}"
    assert option_place('custom_hooks[0].head', HOOKS) == \
        f'custom_hooks[0].head, set by {option}'


def test_a_key_the_option_above_lacks_stays_the_files():
    """Guard of kept behaviour: a dict option merges into the file's dict,
    so a key beneath it that it does not hold comes from the file; an
    option on another branch sets nothing of the key."""
    merged = {'model.cls_head': dict(num_classes=5)}
    assert option_key('model.cls_head.in_channels', merged) is None
    assert mistake_place('cfg.py', 'model.cls_head.in_channels', merged,
                         768) == 'cfg.py: model.cls_head.in_channels = 768'
    assert option_key('custom_hooks[1].head', HOOKS) is None
    assert option_key('custom_hooksx[0].head', HOOKS) is None


def test_the_key_itself_or_beneath_it_wins_over_above():
    """Guard of kept behaviour: the option that set the key, or one
    beneath it, is named before one above it."""
    options = dict(HOOKS, **{'custom_hooks.0.head': ['y']})
    assert option_key('custom_hooks[0].head', options) == \
        'custom_hooks.0.head'
    assert mistake_place('cfg.py', 'custom_hooks[0].head', options,
                         ['y']) == "--cfg-options custom_hooks.0.head=['y']"
    assert option_key('custom_hooks[0]', options) == 'custom_hooks.0.head'


def test_value_at_reads_either_way_of_writing_a_key():
    cfg = dict(a=[dict(b=1)], c=None)
    assert value_at(cfg, 'a[0].b') == value_at(cfg, 'a.0.b') == 1
    assert value_at(cfg, 'c') is None
    assert value_at(cfg, 'a[1].b') is ABSENT
    assert value_at(cfg, 'c.d') is ABSENT
    assert value_at(cfg, '') is cfg


def test_the_train_loop_check_names_an_option_above_once():
    """``train_cfg`` set whole by an option: the refusal named the key with
    its value appended after the option's (``..., set by --cfg-options
    train_cfg={...} = 0``)."""
    loop = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=0)
    options = {'train_cfg': loop}
    with pytest.raises(ConfigError) as info:
        check_train_loop(Config(dict(train_cfg=loop)), 'cfg.py', options)
    assert str(info.value).startswith(
        f'train_cfg.val_interval = 0, set by --cfg-options train_cfg={loop!r}'
        ': expected a whole number > 0'), str(info.value)
