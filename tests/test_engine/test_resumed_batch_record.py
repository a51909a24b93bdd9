# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``train_batch_record`` reads the accumulated batches of any built
optimizer wrapper without an AttributeError.

MMEngine 0.10.7 keeps ``accumulative_counts`` only in an OptimWrapper's
private ``_accumulative_counts``. A BaseOptimWrapper subclass that keeps
no such count (as DeepSpeedOptimWrapper, which accumulates through
DeepSpeed's own config) records None, unknown (it recorded 1, as MMEngine's
strategies read it, and the resume warning then claimed a batch it did not
know); an OptimWrapperDict records its wrappers' common count, or None
where they differ. A batch an optimizer step sees is only given where the
count is known (``test_resumed_batch_unknown`` for the warning).
"""

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.runner import Runner
from optim_wrapper_builders import UncountedOptimWrapper
from torch import nn
from torch.utils.data import DataLoader

from mmadaptformer.engine.hooks.resumed_batch import (accumulated_batches,
                                                      effective_batch,
                                                      total_batch,
                                                      train_batch_record)


class _ToyModel(nn.Module):

    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Linear(2, 2), nn.Linear(2, 2)

    def forward(self, inputs, mode='tensor'):
        return self.second(self.first(inputs))

    def train_step(self, data, optim_wrapper):
        return {}


def _sgd(module):
    return torch.optim.SGD(module.parameters(), lr=0.1)


def _record(tmp_path, make_wrapper):
    model = _ToyModel()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=DataLoader(torch.zeros(6, 2), batch_size=2),
        optim_wrapper=make_wrapper(model),
        train_cfg=dict(by_epoch=True, max_epochs=1))
    return train_batch_record(runner)


def test_a_wrapper_without_a_count_records_unknown(tmp_path):
    uncounted = UncountedOptimWrapper(_sgd(nn.Linear(2, 2)))
    assert not hasattr(uncounted, '_accumulative_counts')
    record = _record(tmp_path, lambda m: UncountedOptimWrapper(_sgd(m)))
    assert record['accumulative_counts'] is None
    assert record['batch_size'] == 2 and record['iters_per_epoch'] == 3
    assert total_batch(record) == 2 and effective_batch(record) is None


def test_a_record_from_before_the_count_accumulated_none():
    """Guards kept behaviour: a record written before
    ``accumulative_counts`` was is read as 1."""
    record = dict(world_size=1, batch_size=2, iters_per_epoch=3)
    assert accumulated_batches(record) == 1 and effective_batch(record) == 2


def test_an_optim_wrapper_records_its_count(tmp_path):
    record = _record(tmp_path,
                     lambda m: OptimWrapper(_sgd(m), accumulative_counts=3))
    assert record['accumulative_counts'] == 3
    assert effective_batch(record) == 6


@pytest.mark.parametrize('counts, recorded, effective', [((2, 2), 2, 4),
                                                         ((2, 1), None, None)])
def test_an_optim_wrapper_dict_records_its_wrappers_count(
        tmp_path, counts, recorded, effective):
    """The same count in each wrapper is recorded; different counts are
    None, unknown, not an AttributeError of the dict's own missing
    count."""

    def several(model):
        return OptimWrapperDict(
            first=OptimWrapper(
                _sgd(model.first), accumulative_counts=counts[0]),
            second=OptimWrapper(
                _sgd(model.second), accumulative_counts=counts[1]))

    record = _record(tmp_path, several)
    assert record['accumulative_counts'] == recorded
    assert effective_batch(record) == effective
