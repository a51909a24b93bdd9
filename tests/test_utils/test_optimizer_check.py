# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``optim_wrapper``, its constructor and its optimizer are checked in
process, as ``tools/train.py`` checks them before the Runner (see
tests/test_tools/test_train_optimizer_lines.py for the tool's lines):
what MMEngine would refuse is named with its key, and what it builds
passes."""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import (DefaultOptimWrapperConstructor, OptimWrapper,
                            OptimWrapperDict)

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.optimizer_check import (check_optimizer_cfg,
                                                 wrapper_arguments)

SGD = dict(type='SGD', lr=0.1)


def _refusal(options=None, **cfg) -> str:
    with pytest.raises(ConfigError) as error:
        check_optimizer_cfg(
            Config(dict(default_scope='mmpretrain', **cfg)), 'c.py', options)
    return str(error.value)


def _passes(**cfg) -> None:
    check_optimizer_cfg(
        Config(dict(default_scope='mmpretrain', **cfg)), 'c.py')


class FlaggedOptimWrapper(OptimWrapper):
    """A user's wrapper that reads its own ``**kwargs``."""

    def __init__(self, optimizer, **kwargs):
        self.flag = kwargs.pop('flag', False)
        super().__init__(optimizer, **kwargs)


class NeedsMomentum(torch.optim.SGD):
    """An optimizer with an argument without a default."""

    def __init__(self, params, momentum, lr=0.1):
        super().__init__(params, lr=lr, momentum=momentum)


class SeveralFromDefault(DefaultOptimWrapperConstructor):
    """A subclass of MMEngine's constructor whose own ``__call__`` builds
    one wrapper per key of the dict, so the dict has no ``optimizer``."""

    def __call__(self, model):
        return OptimWrapperDict(
            **{
                name: DefaultOptimWrapperConstructor(dict(cfg))(model)
                for name, cfg in self.optim_wrapper_cfg.items()
            })


def test_a_wrapper_argument_is_named_with_what_the_class_takes():
    """A guard of kept behaviour: ``optimizer`` is the constructor's to
    pass, not the config's."""
    assert _refusal(optim_wrapper=dict(optimizer=SGD, accumulative_count=2)) \
        == ('c.py: optim_wrapper.accumulative_count: OptimWrapper takes no '
            "argument 'accumulative_count' (did you mean "
            "'accumulative_counts'?). It takes: accumulative_counts, "
            'clip_grad.')


def test_the_keys_the_builder_takes_for_itself_pass():
    """A guard of kept behaviour."""
    _passes(
        optim_wrapper=dict(
            type='OptimWrapper',
            _scope_='mmpretrain',
            optimizer=SGD,
            constructor='DefaultOptimWrapperConstructor',
            paramwise_cfg=dict(norm_decay_mult=0.)))


def test_a_users_wrapper_that_reads_its_kwargs_is_not_judged():
    """A guard of kept behaviour: its ``**kwargs`` may be its own: its
    bases' arguments are not all it takes."""
    assert wrapper_arguments(FlaggedOptimWrapper) is None
    _passes(
        optim_wrapper=dict(type=FlaggedOptimWrapper, optimizer=SGD, flag=True))


def test_an_optimizer_argument_is_named_with_what_the_class_takes():
    """A guard of kept behaviour: the model's parameters, the first
    argument, are not the config's."""
    assert _refusal(
        {'optim_wrapper.optimizer.lrr': 0.1},
        optim_wrapper=dict(optimizer=dict(SGD, lrr=0.1))) == (
            '--cfg-options optim_wrapper.optimizer.lrr=0.1: SGD takes no '
            "argument 'lrr' (did you mean 'lr'?). It takes: lr, momentum, "
            'dampening, weight_decay, nesterov, maximize, foreach, '
            'differentiable, fused.')


def test_an_optimizer_without_a_type_is_named():
    """A guard of kept behaviour."""
    assert _refusal(optim_wrapper=dict(optimizer=dict(lr=0.1))) == (
        "c.py: optim_wrapper.optimizer: optim_wrapper.optimizer={'lr': 0.1} "
        "has no type; MMEngine's optimizer constructor builds the optimizer "
        "from a dict with a type, such as dict(type='SGD', lr=0.01).")


def test_an_unknown_optimizer_type_names_the_three_closest():
    """A guard of kept behaviour."""
    assert _refusal(optim_wrapper=dict(
        optimizer=dict(type='AdamWW', lr=0.1))) == (
            "c.py: optim_wrapper.optimizer.type: 'AdamWW' is not in the "
            "mmpretrain::optimizer registry; did you mean 'AdamW' or 'Adam' "
            "or 'RAdam'? Check the spelling, or import the module that "
            'registers it (custom_imports).')


def test_an_optimizers_scope_is_where_its_type_is_found():
    """A guard of kept behaviour: mmpretrain's LARS, named from a config of
    mmaction's scope."""
    check_optimizer_cfg(
        Config(
            dict(
                default_scope='mmaction',
                optim_wrapper=dict(
                    optimizer=dict(type='LARS', _scope_='mmpretrain',
                                   lr=0.1)))), 'c.py')


def test_an_optimizer_that_takes_kwargs_is_not_judged():
    """A guard of kept behaviour: MMEngine's ZeroRedundancyOptimizer passes
    them to the optimizer it wraps."""
    _passes(
        optim_wrapper=dict(
            optimizer=dict(
                type='ZeroRedundancyOptimizer', optimizer_type='SGD', lr=0.1)))


def test_an_argument_the_optimizer_needs_is_named():
    """A guard of kept behaviour."""
    assert _refusal(optim_wrapper=dict(optimizer=dict(
        type=NeedsMomentum))) == (
            'c.py: optim_wrapper.optimizer: NeedsMomentum needs momentum, '
            'which optim_wrapper.optimizer does not give (it has no '
            'default).')
    _passes(optim_wrapper=dict(optimizer=dict(type=NeedsMomentum, momentum=0)))


def test_a_constructor_of_several_wrappers_is_not_judged_as_one():
    """A guard of kept behaviour: a subclass of MMEngine's constructor with
    its own ``__call__`` reads the dict its own way."""
    _passes(
        optim_wrapper=dict(
            constructor=SeveralFromDefault,
            backbone=dict(optimizer=SGD),
            head=dict(optimizer=SGD)))


def test_an_unknown_constructor_of_one_wrapper_lists_the_registry():
    """A guard of kept behaviour: with ``optimizer`` the dict is one
    wrapper: MMEngine's default constructor is offered, and no word on
    several wrappers."""
    assert _refusal(optim_wrapper=dict(optimizer=SGD, constructor='Foo')) == (
        "c.py: optim_wrapper.constructor: 'Foo' is not in the "
        'mmpretrain::optimizer wrapper constructor registry; it holds '
        'DefaultOptimWrapperConstructor, '
        'LearningRateDecayOptimWrapperConstructor. Check the spelling, or '
        'import the module that registers it (custom_imports).')


def test_an_unknown_constructor_of_several_wrappers_says_what_it_needs():
    """A guard of kept behaviour: without ``optimizer`` the dict is several
    wrappers: only constructors of several wrappers are offered (none
    here), and the message says what the dict needs."""
    assert _refusal(
        optim_wrapper=dict(
            backbone=dict(optimizer=SGD),
            constructor='MultiOptimWrapperConstructor')) == (
                'c.py: optim_wrapper.constructor: '
                "'MultiOptimWrapperConstructor' is not in the "
                'mmpretrain::optimizer wrapper constructor registry. Check '
                'the spelling, or import the module that registers it '
                '(custom_imports). A dict of several wrappers (no '
                'optim_wrapper.optimizer) needs a constructor that builds '
                "each of them (such as mmagic's MultiOptimWrapperConstructor"
                "); MMEngine's DefaultOptimWrapperConstructor builds one, "
                'from optim_wrapper.optimizer.')


def test_another_runners_config_is_not_checked():
    """A guard of kept behaviour: its runner may read ``optim_wrapper``
    another way."""
    _passes(
        runner_type='mmpretrain.MyRunner',
        optim_wrapper=dict(optimizer=dict(type='NoSuchOptimizer')))
