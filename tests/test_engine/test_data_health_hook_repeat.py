# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``DataHealthHook`` that another came before in the run does nothing,
whichever hook method is called.

Each of its methods was marked by hand to return at once in that case: a
method added without the mark (in the hook, or in a subclass of it) ran in
both hooks, counting and logging twice. Every hook method the Runner calls
is now guarded where the class is made."""
import glob
import inspect

import pytest
from config_writers import TRAIN_ONLY_CFG, config_runner
from repo_paths import TINY_IMAGE_CONFIG

from mmadaptformer.engine import DataHealthHook
from mmadaptformer.testing import make_stripes_dataset


class _CountingDataHealthHook(DataHealthHook):
    """A user's subclass that adds hook methods of its own, unmarked: one
    the Runner calls itself, one MMEngine's ``Hook`` calls."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls = []

    def after_train(self, runner) -> None:
        self.calls.append('after_train')

    def _before_iter(self, runner, batch_idx, data_batch=None, mode='train'):
        self.calls.append(f'{mode} iter {batch_idx}')


@pytest.fixture
def counting_hook():
    from mmpretrain.registry import HOOKS
    HOOKS.register_module(module=_CountingDataHealthHook, force=True)
    yield
    HOOKS.module_dict.pop(_CountingDataHealthHook.__name__, None)


def test_a_subclass_method_of_the_repeat_does_not_run(clean_loggers,
                                                      counting_hook, tmp_path):
    root = str(tmp_path / 'data')
    make_stripes_dataset(root, num_per_class=1, splits=('train', ))
    runner = config_runner(
        tmp_path, TINY_IMAGE_CONFIG,
        f'train_dataloader = dict(dataset=dict(data_root={root!r}))\n'
        'train_cfg = dict(max_epochs=1)\n' + TRAIN_ONLY_CFG +
        'custom_hooks = ['
        "dict(type='_CountingDataHealthHook'), "
        "dict(type='_CountingDataHealthHook')]\n")
    first, second = [
        h for h in runner.hooks if isinstance(h, _CountingDataHealthHook)
    ]
    runner.train()
    assert first.calls == ['train iter 0', 'after_train']
    assert second.calls == []
    log, = glob.glob(str(tmp_path / 'work' / '*' / '*.log'))
    with open(log) as f:
        assert sum('is registered 2 times' in line for line in f) == 1


class _RaisesOnUse:
    """A runner any use of which fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f'the repeated hook read runner.{name}')


def test_every_stage_of_the_repeat_returns_at_once():
    """Guard of kept behaviour (every method was marked): each stage the
    Runner calls on the hook returns without reading the runner."""
    hook = DataHealthHook()
    hook._repeated = True
    stages = sorted(set(hook.get_triggered_stages()) - {'before_run'})
    assert 'after_train_epoch' in stages and 'after_test_iter' in stages
    for stage in stages:
        # Every argument after the runner, as None.
        names = list(
            inspect.signature(getattr(DataHealthHook, stage)).parameters)[2:]
        assert getattr(hook, stage)(_RaisesOnUse(), **
                                    dict.fromkeys(names)) is None, stage
