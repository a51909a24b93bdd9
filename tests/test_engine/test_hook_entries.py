# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One rule finds a hook type in a config (:func:`hook_entries`), and a
``DataHealthHook`` listed again in ``custom_hooks`` (the recipes'
``default_hooks`` hold one) is refused instead of running twice."""
import glob

import pytest
from helpers import TINY_IMAGE_CONFIG, TRAIN_ONLY_CFG, config_runner
from mmengine.config import Config
from mmengine.hooks import Hook

from mmadaptformer.engine import (AdapterHook, ConfigCheckHook, DataHealthHook,
                                  adapter_hook_cfg, check_adapter_hook_config,
                                  hook_entries, plan_argument_place)
from mmadaptformer.engine.head_classes_check import config_check_heads
from mmadaptformer.models.adapters.trainable import PlanArgumentError
from mmadaptformer.testing import make_stripes_dataset
from mmadaptformer.utils import ConfigError


class _StrictAdapterHook(AdapterHook):
    """A user's subclass of the AdapterHook."""


class _StrictConfigCheckHook(ConfigCheckHook):
    """A user's subclass of the ConfigCheckHook."""


@pytest.fixture(autouse=True)
def _subclasses():
    from mmpretrain.registry import HOOKS
    for cls in (_StrictAdapterHook, _StrictConfigCheckHook):
        HOOKS.register_module(module=cls, force=True)
    yield
    for cls in (_StrictAdapterHook, _StrictConfigCheckHook):
        HOOKS.module_dict.pop(cls.__name__, None)


def _cfg(**hooks) -> Config:
    return Config(dict(default_scope='mmpretrain', **hooks))


def test_entries_by_subclass_in_both_lists():
    cfg = _cfg(
        default_hooks=dict(
            config_check=dict(type='_StrictConfigCheckHook', head='head'),
            logger=dict(type='LoggerHook')),
        custom_hooks=[
            dict(type='EMAHook'),
            dict(type='_StrictAdapterHook'), 'not a dict',
            dict(type='NoSuchHook')
        ])
    found = hook_entries(cfg, AdapterHook)
    assert [(e.key, e.position, e.cls)
            for e in found] == [('custom_hooks[1]', 1, _StrictAdapterHook)]
    assert [e.key for e in hook_entries(cfg, ConfigCheckHook)] == \
        ['default_hooks.config_check']
    assert [e.key for e in hook_entries(cfg, Hook, ('custom_hooks', ))] == \
        ['custom_hooks[0]', 'custom_hooks[1]']
    assert config_check_heads(cfg) == ['head']


def test_a_subclass_entry_has_its_arguments_checked():
    """Its arguments went unchecked: the checks took only the exact class,
    while the presence check took a subclass as the hook."""
    cfg = _cfg(custom_hooks=[dict(type='_StrictAdapterHook', extra=1)])
    with pytest.raises(
            ConfigError,
            match=r'^cfg\.py: custom_hooks\[0\]\.extra = 1: '
            "AdapterHook takes no argument 'extra'"):
        check_adapter_hook_config(cfg, 'cfg.py')


def test_a_subclass_entry_is_found_by_the_lookups_below_the_hook():
    """``adapter_hook_cfg`` (the tools' and APIs' plan) and
    ``plan_argument_place`` (their refusals' place) matched the type's
    name, so they missed a user's registered subclass: the plan was made
    without its arguments, the refusal named no entry."""
    cfg = _cfg(custom_hooks=[
        dict(type='EMAHook'),
        dict(type='_StrictAdapterHook', extra_trainable=['nope'])
    ])
    assert [e.position for e in hook_entries(cfg, 'AdapterHook')] == [1]
    assert adapter_hook_cfg(cfg) == dict(
        type='_StrictAdapterHook', extra_trainable=['nope'])
    error = PlanArgumentError('no match', 'extra_trainable')
    assert plan_argument_place(cfg, 'c.py', None, error) == \
        "c.py: custom_hooks[1].extra_trainable = ['nope']"
    assert hook_entries(
        _cfg(custom_hooks=[dict(type='EMAHook')]), 'AdapterHook') == []


def test_data_health_hook_listed_twice_runs_once(clean_loggers, tmp_path):
    root = str(tmp_path / 'data')
    make_stripes_dataset(root, num_per_class=1, splits=('train', ))
    runner = config_runner(
        tmp_path, TINY_IMAGE_CONFIG,
        f'train_dataloader = dict(dataset=dict(data_root={root!r}))\n'
        'train_cfg = dict(max_epochs=1)\n'
        "custom_hooks = [dict(type='DataHealthHook')]\n" + TRAIN_ONLY_CFG)
    hooks = [h for h in runner.hooks if isinstance(h, DataHealthHook)]
    assert len(hooks) == 2
    # The second one's epoch summary would be a second count.
    calls = []
    for hook in hooks:
        hook.after_train_epoch = _counting(hook.after_train_epoch, calls)
    runner.train()
    assert calls == [True, False]
    log, = glob.glob(str(tmp_path / 'work' / '*' / '*.log'))
    with open(log) as f:
        lines = [line for line in f if 'is registered 2 times' in line]
    assert len(lines) == 1 and 'WARNING' in lines[0]
    assert ('DataHealthHook is registered 2 times, by default_hooks.'
            'data_health and custom_hooks[0]: the first (default_hooks.'
            'data_health) runs, custom_hooks[0] does nothing') in lines[0]


def _counting(method, calls):
    """``method``, noting whether it ran its body (a hook method that does
    nothing returns at once, before reading the runner's loop)."""

    def run(runner):
        ran = not method.__self__._repeated
        calls.append(ran)
        return method(runner)

    return run
