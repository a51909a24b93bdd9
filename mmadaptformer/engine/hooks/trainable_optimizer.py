# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Keep only the parameters that train in a built optimizer."""
from typing import Iterable, List

from mmengine.logging import print_log
from mmengine.optim import BaseOptimWrapper, OptimWrapperDict
from torch import nn

__all__ = ['built_optim_wrappers', 'restrict_optimizer']


def built_optim_wrappers(optim_wrapper) -> List[BaseOptimWrapper]:
    """The built optimizer wrappers of a runner's ``optim_wrapper``.

    Args:
        optim_wrapper (BaseOptimWrapper | OptimWrapperDict | dict):
            ``runner.optim_wrapper``, a config while it is not built.

    Returns:
        list[BaseOptimWrapper]: Its wrappers; none when it is not built.
    """
    if isinstance(optim_wrapper, OptimWrapperDict):
        return list(optim_wrapper.values())
    if isinstance(optim_wrapper, BaseOptimWrapper):
        return [optim_wrapper]
    return []  # not built: testing or validating only


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
