# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A class built from a config dict with an argument it does not take, or
without one it needs, is named by its config key, from the error that
building it really raises."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import OPTIMIZERS, PARAM_SCHEDULERS, init_default_scope
from mmengine.runner import Runner

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.config_mistakes import (argument_miss,
                                                 naming_config_mistakes)
from mmadaptformer.utils.config_place import config_key, option_key


def _optimizer():
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)


def _raised(build, cfg) -> TypeError:
    with pytest.raises(TypeError) as error:
        build(cfg)
    return error.value


def test_an_argument_the_class_does_not_take_is_named_with_the_closest():
    init_default_scope('mmaction')
    cfg = Config(
        dict(
            optim_wrapper=dict(
                optimizer=dict(type='SGD', lrr=0.1, momentum=0.9))))
    error = _raised(
        lambda c: OPTIMIZERS.build(
            dict(c.optim_wrapper.optimizer, params=[torch.zeros(1)])), cfg)
    assert str(error) == ('SGD.__init__() got an unexpected keyword argument '
                          "'lrr'")
    assert str(argument_miss(error, cfg, 'c.py')) == (
        "c.py: optim_wrapper.optimizer.lrr: SGD takes no argument 'lrr' "
        "(did you mean 'lr'?).")
    # Set on the command line, the option is named as it was given.
    assert str(
        argument_miss(error, cfg, 'c.py', {
            'optim_wrapper.optimizer.lrr': 0.1
        })).startswith('--cfg-options optim_wrapper.optimizer.lrr=0.1: SGD')


def test_a_subclass_that_passes_arguments_on_is_named():
    """MMEngine's CosineAnnealingLR passes ``**kwargs`` to
    CosineAnnealingParamScheduler, which is the class the error names;
    its arguments are the ones offered."""
    init_default_scope('mmaction')
    cfg = Config(
        dict(param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, end=1),
            dict(type='CosineAnnealingLR', T_mx=2, by_epoch=True)
        ]))
    error = _raised(
        lambda c: PARAM_SCHEDULERS.build(
            c.param_scheduler[1], default_args=dict(optimizer=_optimizer())),
        cfg)
    options = {'param_scheduler.1.T_mx': 2}
    assert str(argument_miss(error, cfg, 'c.py', options)) == (
        '--cfg-options param_scheduler.1.T_mx=2: CosineAnnealingLR (through '
        "CosineAnnealingParamScheduler.__init__) takes no argument 'T_mx' "
        "(did you mean 'T_max'?).")


def test_a_missing_argument_is_named():
    init_default_scope('mmaction')
    cfg = Config(dict(param_scheduler=[dict(type='StepLR', gamma=0.1)]))
    error = _raised(
        lambda c: PARAM_SCHEDULERS.build(
            c.param_scheduler[0], default_args=dict(optimizer=_optimizer())),
        cfg)
    assert 'missing 1 required positional argument' in str(error)
    assert str(argument_miss(
        error, cfg,
        'c.py')) == ("c.py: param_scheduler[0] (StepLR) needs 'step_size'; "
                     'StepParamScheduler.__init__ has no default for it.')


def test_other_errors_are_not_taken_for_config_mistakes():
    init_default_scope('mmaction')
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=1))))
    for error in (
            # Not __init__: a call during training.
            TypeError("forward() got an unexpected keyword argument 'lr'"),
            TypeError('VisionTransformer.forward() got an unexpected '
                      "keyword argument 'lr'"),
            # A class no dict of the config builds.
            TypeError('Adam.__init__() got an unexpected keyword argument '
                      "'lr'"),
            # The class, but not with that argument.
            TypeError('SGD.__init__() got an unexpected keyword argument '
                      "'nesterov_'"),
            TypeError('SGD.__init__() takes 2 positional arguments'),
            KeyError('lr')):
        assert argument_miss(error, cfg, 'c.py') is None
    # And naming_config_mistakes lets them through unchanged.
    with pytest.raises(TypeError, match='nesterov_'):
        with naming_config_mistakes(cfg, 'c.py'):
            raise TypeError('SGD.__init__() got an unexpected keyword '
                            "argument 'nesterov_'")
    with pytest.raises(
            ConfigError,
            match=r'^c\.py: optim_wrapper\.optimizer'
            r"\.lr: SGD takes no argument 'lr'"):
        with naming_config_mistakes(cfg, 'c.py'):
            raise TypeError('SGD.__init__() got an unexpected keyword '
                            "argument 'lr'")


def test_an_option_key_is_matched_to_the_config_key():
    assert config_key('param_scheduler.0.T_max') == 'param_scheduler[0].T_max'
    assert config_key('a.10.b.2') == 'a[10].b[2]'
    assert config_key('model.backbone.layer2.x') == 'model.backbone.layer2.x'
    options = {'param_scheduler.0.T_max': 2, 'model.x': 1}
    assert option_key('param_scheduler[0].T_max',
                      options) == 'param_scheduler.0.T_max'
    assert option_key('param_scheduler[1].T_max', options) is None


def test_a_randomness_argument_the_runner_does_not_take_is_named():
    """The Runner calls ``set_randomness(**cfg.randomness)``; that is no
    ``__init__``, so it has a rule of its own."""
    cfg = Config(dict(randomness=dict(sed=0, deterministic=False)))
    runner = object.__new__(Runner)  # set_randomness fails on its kwargs
    error = _raised(lambda c: runner.set_randomness(**c.randomness), cfg)
    assert str(error) == ('Runner.set_randomness() got an unexpected '
                          "keyword argument 'sed'")
    assert str(argument_miss(error, cfg, 'c.py')) == (
        'c.py: randomness.sed: randomness is passed to '
        "Runner.set_randomness, which takes no argument 'sed' (did you mean "
        "'seed'?).")
    # Not a key of the config's randomness: not placed.
    cfg.randomness = dict(seed=0)
    assert argument_miss(error, cfg, 'c.py') is None
