# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A user's subclass of ``DataHealthHook`` in ``custom_hooks``, beside the
recipes' ``default_hooks.data_health``, runs in its place: both ran,
checking and counting every epoch twice (the repeat check compared exact
types)."""
import glob

import pytest
from config_writers import TRAIN_ONLY_CFG, config_runner
from repo_paths import TINY_IMAGE_CONFIG

from mmadaptformer.engine import DataHealthHook
from mmadaptformer.testing import make_stripes_dataset


class _MyDataHealthHook(DataHealthHook):
    """A user's subclass that logs one more thing per epoch."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.epochs = 0

    def after_train_epoch(self, runner) -> None:
        super().after_train_epoch(runner)
        self.epochs += 1


@pytest.fixture
def my_hook():
    from mmpretrain.registry import HOOKS
    HOOKS.register_module(module=_MyDataHealthHook, force=True)
    yield
    HOOKS.module_dict.pop(_MyDataHealthHook.__name__, None)


def _runner(tmp_path, custom_hooks: str):
    root = str(tmp_path / 'data')
    make_stripes_dataset(root, num_per_class=1, splits=('train', ))
    return config_runner(
        tmp_path, TINY_IMAGE_CONFIG,
        f'train_dataloader = dict(dataset=dict(data_root={root!r}))\n'
        'train_cfg = dict(max_epochs=1)\n' + TRAIN_ONLY_CFG +
        f'custom_hooks = {custom_hooks}\n')


def _epoch_lines(tmp_path):
    log, = glob.glob(str(tmp_path / 'work' / '*' / '*.log'))
    with open(log) as f:
        return f.read().splitlines()


def test_a_subclass_runs_in_place_of_the_recipes_hook(clean_loggers, my_hook,
                                                      tmp_path):
    runner = _runner(tmp_path, "[dict(type='_MyDataHealthHook')]")
    base, mine = [h for h in runner.hooks if isinstance(h, DataHealthHook)]
    assert type(base) is DataHealthHook  # default_hooks.data_health
    runner.train()
    assert mine.epochs == 1 and not mine._repeated
    assert base._repeated
    warning, = [x for x in _epoch_lines(tmp_path) if 'does nothing' in x]
    assert 'WARNING' in warning
    assert ('DataHealthHook (default_hooks.data_health) does nothing: '
            '_MyDataHealthHook (custom_hooks[0]), a subclass of it, runs in '
            'its place') in warning


def test_two_of_a_subclass_run_the_first_and_not_the_recipes_hook(
        clean_loggers, my_hook, tmp_path):
    """Of two hooks of one class the first runs (kept behaviour, with its
    warning); the recipes' hook, which they extend, does not run (new)."""
    runner = _runner(
        tmp_path,
        "[dict(type='_MyDataHealthHook'), dict(type='_MyDataHealthHook')]")
    base, first, second = [
        h for h in runner.hooks if isinstance(h, DataHealthHook)
    ]
    runner.train()
    assert (first.epochs, second.epochs) == (1, 0)
    assert base._repeated and second._repeated and not first._repeated
    lines = _epoch_lines(tmp_path)
    assert sum('_MyDataHealthHook is registered 2 times, by custom_hooks[0] '
               'and custom_hooks[1]: the first (custom_hooks[0]) runs, '
               'custom_hooks[1] does nothing' in x for x in lines) == 1


def test_beside_one_registered_by_code_the_entry_is_not_called_outside(
        clean_loggers, my_hook, tmp_path):
    """Code registers one more ``DataHealthHook``: the runner holds two for
    one config entry, so which one the entry built cannot be told. Both
    were told ``DataHealthHook (registered outside the config, by code
    such as runner.register_hook) does nothing``, false of the recipes'
    hook; they are now named as ``hook_place`` names such a hook."""
    runner = _runner(tmp_path, "[dict(type='_MyDataHealthHook')]")
    runner.register_hook(DataHealthHook())
    mine = runner.hooks[[type(h)
                         for h in runner.hooks].index(_MyDataHealthHook)]
    runner.train()
    assert mine.epochs == 1
    # The two hooks' notes are the same line, logged once (MMEngine drops
    # a repeated warning).
    line, = [x for x in _epoch_lines(tmp_path) if 'does nothing' in x]
    assert 'registered outside the config, by code' not in line, line
    assert ('DataHealthHook (config entry unknown (the runner holds 2 '
            'DataHealthHook hooks and its config builds 1: a hook of the '
            'type was registered or removed outside the config, so which '
            'entry, if any, built this one cannot be told)) does nothing: '
            '_MyDataHealthHook (custom_hooks[0]), a subclass of it, runs '
            'in its place') in line, line
