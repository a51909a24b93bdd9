# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Keep only the parameters that train in a built optimizer."""
from typing import Iterable

from mmengine.logging import print_log
from mmengine.optim import BaseOptimWrapper
from torch import nn

__all__ = ['restrict_optimizer']


def restrict_optimizer(wrapper: BaseOptimWrapper,
                       trainable: Iterable[nn.Parameter]) -> None:
    """Remove every parameter but ``trainable`` from an optimizer.

    :class:`~mmadaptformer.engine.AdapterHook` calls it once the frozen
    parameters are frozen, so that the optimizer holds only the parameters
    that train.

    Args:
        wrapper (BaseOptimWrapper): A built optimizer wrapper; its param
            groups are changed in place.
        trainable (Iterable[Parameter]): The parameters that train.

    Raises:
        RuntimeError: If a trainable parameter is in no param group.
    """
    trainable_ids = {id(p) for p in trainable}
    held = set()
    removed = 0
    for group in wrapper.optimizer.param_groups:
        keep = [p for p in group['params'] if id(p) in trainable_ids]
        removed += len(group['params']) - len(keep)
        group['params'] = keep
        held.update(id(p) for p in keep)
    missing = len(trainable_ids - held)
    if missing:
        raise RuntimeError(
            f'AdapterHook: {missing} trainable parameter tensors are not '
            f'in the optimizer; check optim_wrapper.paramwise_cfg.')
    print_log(
        f'AdapterHook: the optimizer holds {len(held)} trainable tensors '
        f'({removed} frozen tensors removed).',
        logger='current')
