# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``DataParallel`` replicas built on the CPU, as
``torch.nn.parallel.replicate`` builds them on several GPUs."""
from typing import Callable, Dict

import torch
from torch import nn

__all__ = ['data_parallel_replica']


def data_parallel_replica(
        module: nn.Module, memo: Dict[int, nn.Module],
        copy_param: Callable[[torch.Tensor], torch.Tensor]) -> nn.Module:
    """What ``torch.nn.parallel.replicate`` makes of ``module``: shallow
    copies of the modules (``Module._replicate_for_data_parallel``), each
    parameter set on them as a plain tensor, ``copy_param(param)`` (where
    ``replicate`` sets its broadcast copy), and the buffers cloned.

    Args:
        module (nn.Module): The original.
        memo (dict): Maps ``id(original)`` to its replica; filled here.
        copy_param (Callable): The replica's tensor of a parameter.

    Returns:
        nn.Module: The replica of ``module``.
    """
    if id(module) in memo:
        return memo[id(module)]
    replica = module._replicate_for_data_parallel()
    memo[id(module)] = replica
    for name, param in module._parameters.items():
        if param is None:
            replica._parameters[name] = None
        else:
            setattr(replica, name, copy_param(param))
    for name, buf in module._buffers.items():
        if buf is not None:
            replica._buffers[name] = buf.detach().clone()
    for name, child in module._modules.items():
        if child is not None:
            setattr(replica, name,
                    data_parallel_replica(child, memo, copy_param))
    return replica
