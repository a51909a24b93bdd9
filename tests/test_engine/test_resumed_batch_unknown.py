# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A run whose optimizer wrapper keeps no ``_accumulative_counts`` (a
BaseOptimWrapper that is no OptimWrapper, as DeepSpeed's, which
accumulates through DeepSpeed's own config) records its accumulation as
unknown (None), and the resume warning claims no batch an optimizer step
of it sees: it was recorded as 1, so a resume of a run accumulating 2 with
such a wrapper was told "this run has 2", and one with twice the batch per
iteration was told nothing."""

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from optim_wrapper_builders import UncountedOptimWrapper
from torch import nn
from torch.utils.data import DataLoader

from mmadaptformer.engine.hooks.resumed_batch import (TRAIN_BATCH_KEY,
                                                      train_batch_record)
from mmadaptformer.engine.hooks.resumed_batch_warning import \
    batch_change_warning


class _ToyModel(nn.Module):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def forward(self, inputs, mode='tensor'):
        return self.linear(inputs)

    def train_step(self, data, optim_wrapper):
        return {}


def _runner(tmp_path, name, batch, make_wrapper):
    model = _ToyModel()
    return Runner(
        model=model,
        work_dir=str(tmp_path / name),
        train_dataloader=DataLoader(torch.zeros(8, 2), batch_size=batch),
        optim_wrapper=make_wrapper(
            torch.optim.SGD(model.parameters(), lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=1))


def _checkpoint(runner):
    return {
        'meta': {
            TRAIN_BATCH_KEY: train_batch_record(runner)
        },
        'optimizer': runner.optim_wrapper.state_dict()
    }


def _accumulating(optimizer):
    return OptimWrapper(optimizer, accumulative_counts=2)


def test_same_batch_per_iteration_claims_no_batch(tmp_path, clean_loggers):
    """Trained 1 x 2 accumulating 2; resumed 1 x 2 with an uncounted
    wrapper: what a step sees now is unknown, so no "this run has 2"."""
    old = _checkpoint(_runner(tmp_path, 'old', 2, _accumulating))
    new = _runner(tmp_path, 'new', 2, UncountedOptimWrapper)
    assert batch_change_warning(new, old, 'epoch_1.pth') is None


@pytest.mark.parametrize('uncounted', ['old', 'new', 'both'])
def test_another_batch_per_iteration_is_told_without_a_step_batch(
        tmp_path, clean_loggers, uncounted):
    """Trained with a batch of 2 per iteration, resumed with 4: told so,
    with the accumulation that is not known named as such, and no batch
    per optimizer step claimed or advised."""
    old_wrapper = UncountedOptimWrapper if uncounted in (
        'old', 'both') else _accumulating
    new_wrapper = UncountedOptimWrapper if uncounted in (
        'new', 'both') else _accumulating
    old = _checkpoint(_runner(tmp_path, 'old', 2, old_wrapper))
    new = _runner(tmp_path, 'new', 4, new_wrapper)
    warning = batch_change_warning(new, old, 'epoch_1.pth')
    assert warning is not None
    assert warning.startswith(
        'Resuming from epoch_1.pth with another batch per iteration: the '
        'checkpoint was trained with 2 (1 process x 2')
    assert 'this run has 4 (1 process x 4' in warning
    assert 'accumulative_counts unknown' in warning
    assert 'None' not in warning
    assert 'accumulative_counts=None' not in warning
    # What a step saw is only claimed where both sides know it.
    assert 'total batch of 4' not in warning
    assert 'total batch of 8' not in warning
    # The per-process batch that keeps the checkpoint's iterations.
    assert 'train_dataloader.batch_size=2' in warning
