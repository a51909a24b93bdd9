# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Average BatchNorm running statistics over the ranks."""
from typing import List

import torch
from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.dist import all_reduce_params, is_distributed
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ['SyncNormStatsHook']


def _norm_statistics(model: torch.nn.Module) -> List[torch.Tensor]:
    stats = []
    for module in model.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            stats += [module.running_mean, module.running_var]
    return stats


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class SyncNormStatsHook(Hook):
    """Average the running mean and variance of every BatchNorm over the
    ranks at the end of each training epoch (and before validation when
    training by iterations).

    AdaptFormer's recipes (arXiv 2205.13535) put a
    ``BatchNorm1d(affine=False)`` in front of the classifier. Under DDP each
    rank updates its statistics from its own shard, so without syncing, the
    ranks, and whatever rank 0 saves, disagree; the official code leaves them
    per-rank. This hook makes them agree. Unlike MMEngine's
    ``SyncBuffersHook`` it touches only BatchNorm statistics, never the
    frozen backbone's buffers, whose bits :class:`AdapterHook` checks.

    Examples:
        >>> default_hooks = dict(
        ...     sync_buffers=dict(type='SyncNormStatsHook'))
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._synced_in_train = False

    def _sync(self, runner) -> None:
        if not is_distributed():
            return
        stats = _norm_statistics(runner.model)
        if stats:
            all_reduce_params(stats, op='mean')

    def after_train_epoch(self, runner) -> None:
        """Average the statistics at the end of each training epoch."""
        self._sync(runner)
        self._synced_in_train = True

    def before_val_epoch(self, runner) -> None:
        """Average them before validation if training did not just do so
        (iteration-based training)."""
        if not self._synced_in_train:
            self._sync(runner)
        self._synced_in_train = False
