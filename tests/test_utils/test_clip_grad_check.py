# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``optim_wrapper.clip_grad`` arguments that MMEngine passes to PyTorch's
clip function only at the first step are checked before anything runs."""
import inspect

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from torch import nn

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.clip_grad_check import check_clip_grad


def _config(clip_grad, **optim_wrapper):
    return Config(
        dict(
            optim_wrapper=dict(
                optimizer=dict(type='SGD', lr=0.1),
                clip_grad=clip_grad,
                **optim_wrapper)))


#: What this torch's clip_grad_norm_ takes besides the parameters (torch
#: 2.14: max_norm, norm_type, error_if_nonfinite, foreach), read from its
#: signature so that the message test holds on other torch versions.
_CLIP_NORM_TAKES = ', '.join(
    name
    for name in inspect.signature(torch.nn.utils.clip_grad_norm_).parameters
    if name != 'parameters')


def test_the_premise_a_misspelled_argument_fails_at_the_first_step():
    """MMEngine builds the wrapper with ``max_norn`` and fails only when
    the first step clips."""
    model = nn.Linear(2, 1)
    wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.1),
        clip_grad=dict(max_norn=1.))
    with pytest.raises(TypeError, match='max_norn'):
        wrapper.update_params(model(torch.ones(1, 2)).sum())


@pytest.mark.parametrize('clip_grad, line', [
    (dict(max_norn=1.),
     "c.py: optim_wrapper.clip_grad.max_norn: 'max_norn' is no argument of "
     "torch.nn.utils.clip_grad_norm_ (did you mean 'max_norm'?); MMEngine's "
     'OptimWrapper passes clip_grad to torch.nn.utils.clip_grad_norm_ at '
     'the first training step, which would fail there with a TypeError. It '
     f'takes: {_CLIP_NORM_TAKES}.'),
    (dict(norm_type=2),
     "c.py: optim_wrapper.clip_grad: clip_grad (type='norm') lacks max_norm, "
     'which torch.nn.utils.clip_grad_norm_ needs; '),
    (dict(type='value', max_norm=1.),
     "c.py: optim_wrapper.clip_grad.max_norm: 'max_norm' is no argument of "
     'torch.nn.utils.clip_grad_value_; '),
    (dict(type='norms', max_norm=1.),
     "c.py: optim_wrapper.clip_grad.type: 'norms' is neither 'norm' nor "
     "'value' (did you mean 'norm'?); MMEngine's OptimWrapper would refuse it "
     'once the Runner builds it, after the model.'),
])
def test_a_clip_grad_mistake_is_named(clip_grad, line):
    with pytest.raises(ConfigError) as error:
        check_clip_grad(_config(clip_grad), 'c.py')
    assert str(error.value).startswith(line)


def test_what_the_clip_functions_take_passes():
    for clip_grad in (dict(max_norm=1.), dict(max_norm=1., norm_type=2),
                      dict(type='norm', max_norm=35,
                           norm_type=2), dict(type='value', clip_value=0.5)):
        check_clip_grad(_config(clip_grad), 'c.py')
        check_clip_grad(_config(clip_grad, type='AmpOptimWrapper'), 'c.py')
    check_clip_grad(_config(None), 'c.py')
    check_clip_grad(Config(dict(optim_wrapper=None)), 'c.py')


def test_the_option_and_the_wrappers_checked():
    with pytest.raises(ConfigError) as error:
        check_clip_grad(
            _config(dict(max_norm=1., norm_typ=2), type='CPUAmpOptimWrapper'),
            'c.py', {'optim_wrapper.clip_grad.norm_typ': 2})
    assert str(error.value).startswith(
        "--cfg-options optim_wrapper.clip_grad.norm_typ=2: 'norm_typ' is no "
        'argument of torch.nn.utils.clip_grad_norm_ (did you mean '
        "'norm_type'?); CPUAmpOptimWrapper passes ")

    # A wrapper of the user's own may read clip_grad its own way.
    from mmengine.registry import OPTIM_WRAPPERS

    @OPTIM_WRAPPERS.register_module(force=True)
    class ClippingItsOwnWay(OptimWrapper):
        pass

    try:
        check_clip_grad(
            _config(dict(percentile=0.9), type='ClippingItsOwnWay'), 'c.py')
    finally:
        OPTIM_WRAPPERS.module_dict.pop('ClippingItsOwnWay')
