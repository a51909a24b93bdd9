# Copyright (c) mmadaptformer contributors. All rights reserved.
""":func:`~mmadaptformer.engine.hooks.resume_state_fit.
optimizer_state_mismatch` on the state dicts of real optimizers after a
real step: what ``ResumeCheckHook`` refuses before MMEngine loads
optimizer state of another model (the slow tool test
``test_resume_refusals`` runs it through ``tools/train.py``)."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from torch import nn

from mmadaptformer.engine.hooks.resume_state_fit import \
    optimizer_state_mismatch

SGD = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
ADAMW = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))


def _stepped(model: nn.Module, cfg: dict):
    """An optim wrapper of ``model`` after one real step, so that its state
    holds a momentum buffer (SGD) or moments and a step count (AdamW) per
    parameter."""
    wrapper = build_optim_wrapper(model, cfg)
    inputs = torch.randn(3, model[0].in_features)
    wrapper.update_params(model(inputs).square().sum())
    return wrapper


def _model(inner: int) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, inner), nn.ReLU(), nn.Linear(inner, 4))


@pytest.mark.parametrize('cfg', [SGD, ADAMW], ids=['sgd', 'adamw'])
def test_the_state_of_the_same_model_fits(cfg):
    """Guard of kept behaviour: a checkpoint of the same model fits, Adam's
    scalar ``step`` (shape ``()``, not its parameter's) included; guards a
    check that compares every state entry's shape, not only the
    parameter-shaped ones."""
    state = _stepped(_model(6), cfg).state_dict()
    if cfg is ADAMW:  # torch keeps Adam's step count as a 0-d tensor
        assert all(entry['step'].shape == ()
                   for entry in state['state'].values())
    assert optimizer_state_mismatch(_stepped(_model(6), cfg), state) is None


class _Tensors(nn.Module):
    """A model of bare parameters of the given shapes, in order."""

    def __init__(self, *shapes) -> None:
        super().__init__()
        for index, shape in enumerate(shapes):
            self.register_parameter(f'p{index}',
                                    nn.Parameter(torch.zeros(shape)))


@pytest.mark.parametrize(
    'cfg, key', [(SGD, 'momentum_buffer'), (ADAMW, 'exp_avg')],
    ids=['sgd', 'adamw'])
def test_a_transposed_weight_of_equal_numel_is_refused(cfg, key):
    """Guards a shape check that compares numel only: the saved state of a
    (6, 4) weight against a (4, 6) one, as many tensors of as many values
    each, so only the shapes tell them apart."""
    saved = _stepped(_model(6), cfg).state_dict()
    run = build_optim_wrapper(_Tensors((4, 6), (6, ), (4, 6), (4, )), cfg)
    assert [p.numel() for p in run.optimizer.param_groups[0]['params']] \
        == [24, 6, 24, 4]
    assert optimizer_state_mismatch(run, saved) == (
        f'the {key} of tensor 0 (param group 0) has shape (6, 4) in the '
        'checkpoint, but its parameter here has (4, 6)')


def test_a_later_tensor_of_another_shape_is_named_by_its_index():
    """Guards a check that stops at the first parameter or pairs the
    checkpoint's tensors with the run's out of order: only the last bias
    differs, (4,) saved, (5,) here."""
    saved = _stepped(_model(6), SGD).state_dict()
    run = build_optim_wrapper(_Tensors((6, 4), (6, ), (4, 6), (5, )), SGD)
    assert optimizer_state_mismatch(run, saved) == (
        'the momentum_buffer of tensor 3 (param group 0) has shape (4,) in '
        'the checkpoint, but its parameter here has (5,)')


def test_another_grouping_is_refused_with_both_sizes():
    """Guards the group comparison: one group per tensor (any
    paramwise_cfg, as MMEngine builds it) against one group of all."""
    saved = _stepped(_model(6), SGD).state_dict()
    run = build_optim_wrapper(
        _model(6),
        dict(SGD, paramwise_cfg=dict(custom_keys={'2.': dict(lr_mult=2.)})))
    assert optimizer_state_mismatch(run, saved) == (
        '1 param groups holding 4 tensors [4] in the checkpoint, 4 holding '
        '4 [1, 1, 1, 1] in this run')


def test_a_file_that_is_not_optimizer_state_is_named():
    """Guards the first refusal: a dict without a list of param groups."""
    run = build_optim_wrapper(_model(6), SGD)
    for state in ({}, {'param_groups': {}}, ['param_groups']):
        assert optimizer_state_mismatch(run, state) == (
            "it is not an optimizer state dict (no list of 'param_groups')")
