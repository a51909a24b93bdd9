# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A config-built ``DataHealthHook`` is not called a hook registered
outside the config where code registers another of its type.

The config builds ``default_hooks.data_health`` and a subclass in
``custom_hooks``; code registers one more ``DataHealthHook``. The runner
then holds two ``DataHealthHook`` hooks for one entry, so which one the
entry built cannot be told; both were told ``DataHealthHook (registered
outside the config, by code such as runner.register_hook) does nothing``,
false of the recipes' hook. They are now named as ``hook_place`` names
such a hook."""
import glob

import pytest
from config_writers import TRAIN_ONLY_CFG, config_runner
from repo_paths import TINY_IMAGE_CONFIG

from mmadaptformer.engine import DataHealthHook
from mmadaptformer.testing import make_stripes_dataset


class _EpochDataHealthHookD(DataHealthHook):
    """A user's subclass that counts epochs."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.epochs = 0

    def after_train_epoch(self, runner) -> None:
        super().after_train_epoch(runner)
        self.epochs += 1


@pytest.fixture
def user_hook():
    from mmpretrain.registry import HOOKS
    HOOKS.register_module(module=_EpochDataHealthHookD, force=True)
    yield
    HOOKS.module_dict.pop(_EpochDataHealthHookD.__name__, None)


def test_a_config_built_hook_beside_one_registered_by_code(
        clean_loggers, user_hook, tmp_path):
    root = str(tmp_path / 'data')
    make_stripes_dataset(root, num_per_class=1, splits=('train', ))
    runner = config_runner(
        tmp_path, TINY_IMAGE_CONFIG,
        f'train_dataloader = dict(dataset=dict(data_root={root!r}))\n'
        'train_cfg = dict(max_epochs=1)\n' + TRAIN_ONLY_CFG +
        "custom_hooks = [dict(type='_EpochDataHealthHookD')]\n")
    runner.register_hook(DataHealthHook())
    mine = runner.hooks[[type(h)
                         for h in runner.hooks].index(_EpochDataHealthHookD)]
    runner.train()
    assert mine.epochs == 1
    log, = glob.glob(str(tmp_path / 'work' / '*' / '*.log'))
    with open(log) as f:
        lines = [x for x in f.read().splitlines() if 'does nothing' in x]
    # The two hooks' notes are the same line, logged once (MMEngine drops
    # a repeated warning).
    assert len(lines) == 1
    for line in lines:
        assert 'registered outside the config, by code' not in line, line
        assert (
            'DataHealthHook (config entry unknown (the runner holds 2 '
            'DataHealthHook hooks and its config builds 1: a hook of the '
            'type was registered or removed outside the config, so which '
            'entry, if any, built this one cannot be told)) does nothing: '
            '_EpochDataHealthHookD (custom_hooks[0]), a subclass of it, runs '
            'in its place') in line, line
