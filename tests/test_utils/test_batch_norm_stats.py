# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One predicate for the batch norms whose running statistics change in
training, which the trainable plan (it saves them with a norm that trains)
and SyncNormStatsHook (it averages them over the ranks) both read: they
each wrote it out."""
import pytest
from torch import nn

from mmadaptformer.utils.batch_norm_stats import (tracks_running_stats,
                                                  updates_running_stats)

CASES = {
    'bn1d': (nn.BatchNorm1d(4), True),
    'bn2d': (nn.BatchNorm2d(4), True),
    'bn3d': (nn.BatchNorm3d(4), True),
    'sync': (nn.SyncBatchNorm(4), True),
    'bn-no-affine': (nn.BatchNorm1d(4, affine=False), True),
    'bn-untracked': (nn.BatchNorm2d(4, track_running_stats=False), False),
    # Tracks running statistics, but is no batch norm: neither caller
    # counted it.
    'instance-tracked': (nn.InstanceNorm2d(4,
                                           track_running_stats=True), False),
    'layer': (nn.LayerNorm(4), False),
    'group': (nn.GroupNorm(2, 4), False),
    'linear': (nn.Linear(4, 4), False),
}


@pytest.mark.parametrize('name', CASES)
def test_which_modules_track_and_update_running_stats(name):
    module, tracks = CASES[name]
    module.train()
    assert tracks_running_stats(module) is tracks
    assert updates_running_stats(module) is tracks
    module.eval()
    # Frozen (eval mode): still tracking, no longer updating.
    assert tracks_running_stats(module) is tracks
    assert updates_running_stats(module) is False


def test_a_trained_batch_norm_saves_its_statistics_a_frozen_one_does_not():
    """Guard of kept behaviour, through the plan: the statistics of a
    tracking batch norm with a trained parameter are saved; those of an
    untracked one do not exist."""
    from mmadaptformer.models.adapters.trainable import plan_trainable
    model = nn.Module()
    model.backbone = nn.Sequential(nn.Linear(4, 4))
    model.head = nn.Sequential(
        nn.BatchNorm1d(4), nn.BatchNorm1d(4, track_running_stats=False),
        nn.Linear(4, 2))
    plan = plan_trainable(model, mode='linear_probe')
    saved = set(plan.saved_keys)
    assert {
        'head.0.running_mean', 'head.0.running_var',
        'head.0.num_batches_tracked'
    } <= saved
    assert not any(k.startswith('head.1.running') for k in saved)
    assert 'backbone.0.weight' in plan.frozen_keys
