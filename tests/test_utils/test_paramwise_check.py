# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``paramwise_cfg`` keys MMEngine's default constructor would ignore are
named; keys optimizers and hooks read from a parameter group pass."""
import inspect

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.paramwise_check import check_paramwise_cfg

#: What this torch's SGD takes besides the parameters (torch 2.14: lr,
#: momentum, dampening, weight_decay, nesterov, maximize, foreach,
#: differentiable, fused), read from its signature so that the message test
#: holds on other torch versions.
_SGD_TAKES = ', '.join(
    name for name in inspect.signature(torch.optim.SGD).parameters
    if name != 'params')


def _config(paramwise_cfg, **optim_wrapper):
    return Config(
        dict(
            optim_wrapper=dict(
                optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-4),
                paramwise_cfg=paramwise_cfg,
                **optim_wrapper)))


def _head_lr(paramwise_cfg) -> float:
    """The lr MMEngine's constructor gives a model's ``head``."""
    model = nn.Module()
    model.backbone = nn.Linear(2, 2)
    model.head = nn.Linear(2, 2)
    optim_wrapper = _config(paramwise_cfg).optim_wrapper.to_dict()
    paramwise_cfg = optim_wrapper.pop('paramwise_cfg')
    wrapper = DefaultOptimWrapperConstructor(optim_wrapper, paramwise_cfg)(
        model)
    return next(group['lr'] for group in wrapper.optimizer.param_groups
                if group['params'][0] is model.head.weight)


def test_a_misspelled_multiplier_is_named():
    """The premise: MMEngine applies ``lr_mult`` and silently keeps
    ``lr_mul``, so the head trained at the base lr."""
    assert _head_lr(dict(custom_keys=dict(head=dict(lr_mult=10.)))) == 1.
    assert _head_lr(dict(custom_keys=dict(head=dict(lr_mul=10.)))) == 0.1
    with pytest.raises(ConfigError) as error:
        check_paramwise_cfg(
            _config(dict(custom_keys=dict(head=dict(lr_mul=10.)))), 'c.py')
    assert str(error.value) == (
        "c.py: optim_wrapper.paramwise_cfg.custom_keys.head.lr_mul: 'lr_mul' "
        "is no multiplier (did you mean 'lr_mult'?); MMEngine's "
        'DefaultOptimWrapperConstructor would put it in the parameter group '
        "of custom_keys['head'] as it is and apply no lr_mult.")


def _head_momentum(entry) -> float:
    """The momentum SGD applies to a model's ``head``: the step of a
    gradient of 1 after a first step of 1, from zero."""
    model = nn.Module()
    model.head = nn.Linear(1, 1, bias=False)
    model.head.weight.data.zero_()
    optim_wrapper = dict(optimizer=dict(type='SGD', lr=1., momentum=0.9))
    wrapper = DefaultOptimWrapperConstructor(
        optim_wrapper, dict(custom_keys=dict(head=entry)))(
            model)
    for _ in range(2):
        model.head.weight.grad = torch.ones(1, 1)
        wrapper.optimizer.step()
    return -model.head.weight.item() - 1.


def test_a_misspelled_optimizer_argument_is_named():
    """The premise: MMEngine puts ``momentum=0.`` in the head's group and
    SGD applies it; ``momentun=0.`` is kept there and SGD never reads it,
    so the head trained with momentum 0.9."""
    assert _head_momentum(dict(momentum=0.)) == pytest.approx(1.)
    assert _head_momentum(dict(momentun=0.)) == pytest.approx(1.9)
    with pytest.raises(ConfigError) as error:
        check_paramwise_cfg(
            _config(dict(custom_keys=dict(head=dict(momentun=0.)))), 'c.py')
    assert str(error.value) == (
        'c.py: optim_wrapper.paramwise_cfg.custom_keys.head.momentun: '
        "'momentun' is no argument of SGD (did you mean 'momentum'?); "
        "MMEngine's DefaultOptimWrapperConstructor would put it in the "
        "parameter group of custom_keys['head'] as it is, where SGD would "
        f'not read it. It takes: {_SGD_TAKES}.')


@pytest.mark.parametrize('paramwise_cfg, line', [
    (dict(norm_decay_mul=0.),
     "c.py: optim_wrapper.paramwise_cfg.norm_decay_mul: 'norm_decay_mul' is "
     "no paramwise_cfg key (did you mean 'norm_decay_mult'"),
    (dict(_delete=True, norm_decay_mult=0.),
     "c.py: optim_wrapper.paramwise_cfg._delete: '_delete' is no "
     "paramwise_cfg key (MMEngine's key that replaces the base config's "
     'dict is _delete_)'),
    (dict(custom_keys={'.pos_embed': dict(decay_mul=0.)}),
     'c.py: optim_wrapper.paramwise_cfg.custom_keys..pos_embed.decay_mul: '
     "'decay_mul' is no multiplier (did you mean 'decay_mult'?)"),
])
def test_a_key_the_constructor_does_not_read_is_named(paramwise_cfg, line):
    with pytest.raises(ConfigError) as error:
        check_paramwise_cfg(_config(paramwise_cfg), 'c.py')
    assert str(error.value).startswith(line)


def test_what_the_constructor_or_a_group_reader_takes_passes():
    """Every key MMEngine reads; an optimizer option per group; keys that
    LARS (``lars_exclude``) and SimSiam's hook (``fix_lr``) read from the
    group; another constructor; an option named as given."""
    check_paramwise_cfg(
        _config(
            dict(
                custom_keys=dict(
                    head=dict(lr_mult=10., decay_mult=0., momentum=0.5),
                    bn=dict(lars_exclude=True),
                    predictor=dict(fix_lr=True)),
                bias_lr_mult=2.,
                bias_decay_mult=0.,
                norm_decay_mult=0.,
                dwconv_decay_mult=0.,
                flat_decay_mult=0.,
                bypass_duplicate=True,
                dcn_offset_lr_mult=0.1)), 'c.py')
    check_paramwise_cfg(
        _config(
            dict(layer_decay_rate=0.65),
            constructor='LearningRateDecayOptimWrapperConstructor'), 'c.py')
    check_paramwise_cfg(Config(dict(optim_wrapper=None)), 'c.py')
    with pytest.raises(ConfigError) as error:
        check_paramwise_cfg(
            _config(dict(bias_lr_mul=2.)), 'c.py',
            {'optim_wrapper.paramwise_cfg.bias_lr_mul': 2.})
    assert str(error.value).startswith(
        '--cfg-options optim_wrapper.paramwise_cfg.bias_lr_mul=2.0: ')
