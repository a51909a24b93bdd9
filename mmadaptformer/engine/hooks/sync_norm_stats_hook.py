# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Average the running statistics of the training BatchNorms over the
ranks."""
from typing import List

import torch
from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.dist import all_reduce_params, is_distributed
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS

from mmadaptformer.utils.batch_norm_stats import updates_running_stats

__all__ = ['SyncNormStatsHook']


def _training_norm_statistics(model: torch.nn.Module) -> List[torch.Tensor]:
    """The running means and variances of the batch norms that update them:
    those that track them and are in train mode. A frozen one (in eval mode,
    as :class:`AdapterHook` keeps the frozen backbone's) is left out."""
    stats = []
    for module in model.modules():
        if updates_running_stats(module):
            stats += [module.running_mean, module.running_var]
    return stats


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class SyncNormStatsHook(Hook):
    """Average the running mean and variance of every BatchNorm that trains
    over the ranks at the end of each training epoch (and before validation
    when training by iterations).

    AdaptFormer's recipes (arXiv 2205.13535) put a
    ``BatchNorm1d(affine=False)`` in front of the classifier. Under DDP each
    rank updates its statistics from its own shard, so without syncing, the
    ranks, and whatever rank 0 saves, disagree; the official code leaves them
    per-rank. This hook makes them agree. Unlike MMEngine's
    ``SyncBuffersHook`` it touches only BatchNorm statistics, never the
    frozen backbone's buffers, whose bits :class:`AdapterHook` checks.

    Only the batch norms in train mode when the hook runs are synced: those
    whose statistics the epoch updated. MMEngine calls ``after_train_epoch``
    and ``before_val_epoch`` before it puts the model in eval mode, so the
    modes are the training ones, in which :class:`AdapterHook` keeps every
    frozen batch norm (e.g. UniFormer's convolution stages) in eval mode. A
    frozen norm's statistics are the same on every rank already, and
    averaging them would change them: sum-then-divide of identical float32
    values is not exact for a world size that is not a power of two (3 or 6
    GPUs), which :class:`AdapterHook` refuses. Outside training (a
    stand-alone validation or test) nothing is synced: nothing updated the
    statistics.

    Examples:
        >>> default_hooks = dict(
        ...     sync_buffers=dict(type='SyncNormStatsHook'))
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._training = False
        self._synced_in_train = False

    def _sync(self, runner) -> None:
        if not is_distributed():
            return
        stats = _training_norm_statistics(runner.model)
        if stats:
            all_reduce_params(stats, op='mean')

    def before_train(self, runner) -> None:
        """Note that training began: validation now follows training."""
        self._training = True

    def after_train(self, runner) -> None:
        """Note that training ended."""
        self._training = False

    def after_train_epoch(self, runner) -> None:
        """Average the statistics at the end of each training epoch."""
        self._sync(runner)
        self._synced_in_train = True

    def before_val_epoch(self, runner) -> None:
        """Average them before validation during training if training did
        not just do so (iteration-based training)."""
        if self._training and not self._synced_in_train:
            self._sync(runner)
        self._synced_in_train = False
