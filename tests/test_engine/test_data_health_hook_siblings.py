# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Two ``DataHealthHook`` subclasses neither of which extends the other,
and hooks registered outside the config.

With siblings ``A`` and ``B`` in ``custom_hooks`` the first ran and the
second was told ``B does nothing: A, a subclass of it, runs in its place``,
which is false; which of them ran was an accident of their order. And a
hook no config entry built was named ``a hook registered outside the
config`` in the middle of the advice (``remove a hook registered outside
the config``)."""
import glob

import pytest
from config_writers import TRAIN_ONLY_CFG, config_runner
from repo_paths import TINY_IMAGE_CONFIG

from mmadaptformer.engine import DataHealthHook
from mmadaptformer.testing import make_stripes_dataset
from mmadaptformer.utils import ConfigError


class _EpochDataHealthHook(DataHealthHook):
    """A user's subclass that counts epochs."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.epochs = 0

    def after_train_epoch(self, runner) -> None:
        super().after_train_epoch(runner)
        self.epochs += 1


class _IterDataHealthHook(DataHealthHook):
    """Another user's subclass, a sibling of the first: counts iterations."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.iters = 0

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        self.iters += 1


class _BothDataHealthHook(_EpochDataHealthHook, _IterDataHealthHook):
    """A subclass of both siblings."""


@pytest.fixture
def user_hooks():
    from mmpretrain.registry import HOOKS
    classes = (_EpochDataHealthHook, _IterDataHealthHook, _BothDataHealthHook)
    for cls in classes:
        HOOKS.register_module(module=cls, force=True)
    yield
    for cls in classes:
        HOOKS.module_dict.pop(cls.__name__, None)


def _runner(tmp_path, custom_hooks: str = '[]'):
    root = str(tmp_path / 'data')
    make_stripes_dataset(root, num_per_class=1, splits=('train', ))
    return config_runner(
        tmp_path, TINY_IMAGE_CONFIG,
        f'train_dataloader = dict(dataset=dict(data_root={root!r}))\n'
        'train_cfg = dict(max_epochs=1)\n' + TRAIN_ONLY_CFG +
        f'custom_hooks = {custom_hooks}\n')


def _warnings(tmp_path):
    log, = glob.glob(str(tmp_path / 'work' / '*' / '*.log'))
    with open(log) as f:
        return [
            x for x in f.read().splitlines() if any(
                w in x for w in ('does nothing', 'do nothing'))
        ]


def test_sibling_subclasses_are_refused_before_training(
        clean_loggers, user_hooks, tmp_path):
    runner = _runner(
        tmp_path, "[dict(type='_EpochDataHealthHook'), "
        "dict(type='_IterDataHealthHook')]")
    first, second = [
        h for h in runner.hooks
        if isinstance(h, DataHealthHook) and type(h) is not DataHealthHook
    ]
    with pytest.raises(ConfigError) as info:
        runner.train()
    assert str(info.value) == (
        '_EpochDataHealthHook (custom_hooks[0]) and _IterDataHealthHook '
        '(custom_hooks[1]) are both DataHealthHook subclasses and neither '
        'subclasses the other: only one DataHealthHook may run (each would '
        'run every check and count again), and which one is yours to say. '
        'Keep one and remove the other, or list one class that '
        'subclasses both of them in their place.')
    assert first.epochs == 0 and second.iters == 0  # nothing trained


def test_a_subclass_of_both_siblings_runs_in_their_place(
        clean_loggers, user_hooks, tmp_path):
    """Kept behaviour where one class subclasses every other: it runs, and
    each of the others is told so, truly."""
    runner = _runner(
        tmp_path, "[dict(type='_EpochDataHealthHook'), "
        "dict(type='_IterDataHealthHook'), dict(type='_BothDataHealthHook')]")
    runner.train()
    both = runner.hooks[[type(h)
                         for h in runner.hooks].index(_BothDataHealthHook)]
    assert both.epochs == 1 and both.iters > 0 and not both._repeated
    lines = _warnings(tmp_path)
    assert len(lines) == 3
    assert any('_IterDataHealthHook (custom_hooks[1]) does nothing: '
               '_BothDataHealthHook (custom_hooks[2]), a subclass of it, '
               'runs in its place' in x for x in lines)


def test_a_subclass_registered_by_code_is_named_so(clean_loggers, user_hooks,
                                                   tmp_path):
    runner = _runner(tmp_path)
    mine = _EpochDataHealthHook()
    runner.register_hook(mine)
    runner.train()
    assert mine.epochs == 1
    line, = _warnings(tmp_path)
    assert line.endswith(
        'DataHealthHook (default_hooks.data_health) does nothing: '
        '_EpochDataHealthHook (registered outside the config, by code '
        'such as runner.register_hook), a subclass of it, runs in its '
        'place (each would run every check and count again). Keep one: '
        'remove default_hooks.data_health, or the code that registers '
        '_EpochDataHealthHook.')


def test_a_repeat_registered_by_code_is_named_so(clean_loggers, tmp_path):
    """The config builds one DataHealthHook and code registers another:
    which entry built which cannot be told."""
    runner = _runner(tmp_path)
    runner.register_hook(DataHealthHook())
    runner.train()
    line, = _warnings(tmp_path)
    assert line.endswith(
        'DataHealthHook is registered 2 times, not all of them by the '
        "config's entries (code such as runner.register_hook registered "
        'some): the first registered runs, the others do nothing (each '
        'would run every check and count again). Keep one: remove the '
        'config entry or the code that registers another.')


class _ThirdDataHealthHook(DataHealthHook):
    """A third sibling."""


def test_three_siblings_registered_by_code_are_named_so():
    """A runner without a config (its hooks registered by code)."""
    from types import SimpleNamespace

    from mmadaptformer.engine import registered_again
    hooks = [
        DataHealthHook(),
        _EpochDataHealthHook(),
        _IterDataHealthHook(),
        _ThirdDataHealthHook()
    ]
    runner = SimpleNamespace(hooks=hooks, cfg=None)
    with pytest.raises(ConfigError) as info:
        registered_again(runner, hooks[0], DataHealthHook)
    outside = '(registered outside the config, by code such as ' \
        'runner.register_hook)'
    assert str(info.value) == (
        f'_EpochDataHealthHook {outside}, _IterDataHealthHook {outside} and '
        f'_ThirdDataHealthHook {outside} are all DataHealthHook subclasses '
        'and none subclasses another: only one DataHealthHook may run (each '
        'would run every check and count again), and which one is yours to '
        'say. Keep one and remove the others, or list one class that '
        'subclasses all of them in their place.')
