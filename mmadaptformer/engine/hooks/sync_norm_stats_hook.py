# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Average the running statistics of the training BatchNorms over the
ranks."""
from typing import List

import torch
from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.dist import all_reduce_params, is_distributed
from mmengine.hooks import CheckpointHook, Hook
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


def _checkpoint_after_iter(runner) -> bool:
    """Whether a ``CheckpointHook`` saves after this training iteration:
    its own condition in ``after_train_iter`` (by iterations: every
    ``interval`` from ``save_begin``, and the last one with ``save_last``)."""
    return any(
        isinstance(hook, CheckpointHook) and not hook.by_epoch and (
            hook.every_n_train_iters(runner, hook.interval, hook.save_begin)
            or hook.save_last and hook.is_last_train_iter(runner))
        for hook in runner.hooks)


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class SyncNormStatsHook(Hook):
    """Average the running mean and variance of every BatchNorm that trains
    over the ranks at the end of each training epoch, and, when training by
    iterations, before a checkpoint saved after an iteration and before
    validation.

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
    GPUs), which :class:`AdapterHook` refuses. For the same reason the
    statistics are averaged once after each training step that updated them,
    never twice: an iteration-based run that saves ``iter_N.pth`` and then
    validates averages them before the save (``CheckpointHook`` saves in
    ``after_train_iter``, at VERY_LOW priority, before validation begins),
    not again before validation. Outside training (a stand-alone validation
    or test) nothing is synced: nothing updated the statistics.

    Examples:
        >>> default_hooks = dict(
        ...     sync_buffers=dict(type='SyncNormStatsHook'))
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        # Whether a training step updated the statistics since they were
        # last averaged.
        self._updated = False

    def _sync_updated(self, runner) -> None:
        if not self._updated:
            return
        self._updated = False
        if not is_distributed():
            return
        stats = _training_norm_statistics(runner.model)
        if stats:
            all_reduce_params(stats, op='mean')

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Note the step's update; average before a checkpoint that
        ``CheckpointHook`` saves after this iteration."""
        self._updated = True
        if _checkpoint_after_iter(runner):
            self._sync_updated(runner)

    def after_train_epoch(self, runner) -> None:
        """Average the statistics at the end of each training epoch."""
        self._sync_updated(runner)

    def before_val_epoch(self, runner) -> None:
        """Average them before validation during training if no epoch end
        or checkpoint did since the last step (iteration-based training)."""
        self._sync_updated(runner)
