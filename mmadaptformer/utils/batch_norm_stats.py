# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which batch norms update their running statistics: one predicate for
the trainable plan (:func:`~mmadaptformer.models.adapters.trainable.
plan_trainable` saves the statistics of a norm that trains) and
:class:`~mmadaptformer.engine.hooks.SyncNormStatsHook` (which averages
them over the ranks)."""
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ['tracks_running_stats', 'updates_running_stats']


def tracks_running_stats(module: nn.Module) -> bool:
    """Whether ``module`` is a batch norm (any ``BatchNorm*d``,
    ``SyncBatchNorm``) that tracks running statistics: in train mode its
    forward updates its ``running_mean`` and ``running_var``.

    Args:
        module (nn.Module): Any module.

    Returns:
        bool: True for such a batch norm, in whichever mode it is now.
    """
    return isinstance(module, _BatchNorm) and bool(module.track_running_stats)


def updates_running_stats(module: nn.Module) -> bool:
    """Whether ``module``'s forward updates running statistics now: a
    batch norm that tracks them (:func:`tracks_running_stats`) in train
    mode. A frozen one, kept in eval mode, does not.

    Args:
        module (nn.Module): Any module.

    Returns:
        bool: True for such a batch norm in train mode.
    """
    return tracks_running_stats(module) and module.training
