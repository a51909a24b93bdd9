# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Activation checkpointing of transformer blocks, adapters included.

A checkpointed block keeps only its input for the backward pass and runs its
forward again (adapter hooks included, see
:mod:`mmadaptformer.models.adapters.injection`) when the gradient reaches it.
The block's ``forward`` is replaced by an instance attribute, as MMEngine's
``activation_checkpointing`` does, so state-dict keys do not change (see
:func:`~.bound_forward.bind_forward`, which also binds it in multi-GPU
``DataParallel`` replicas). Unlike MMEngine's, it uses non-reentrant
checkpointing, which needs no input that requires a gradient, and it skips
the checkpoint where the block records no graph anyway (a frozen block on a
frozen input, or under ``no_grad``), so a frozen prefix is neither
checkpointed nor recomputed.
"""
from functools import partial
from typing import Iterable

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .bound_forward import bind_forward

__all__ = ['checkpoint_blocks']


def _records_graph(module: nn.Module, args: tuple, kwargs: dict) -> bool:
    if not torch.is_grad_enabled():
        return False
    tensors = [*args, *kwargs.values()]
    return any(
        isinstance(t, torch.Tensor) and t.requires_grad for t in tensors) or \
        any(p.requires_grad for p in module.parameters())


def checkpointed_forward(module: nn.Module, *args, **kwargs):
    """The class's ``forward`` of ``module`` under activation checkpointing.

    Args:
        module (nn.Module): The checkpointed module.
        *args: Positional inputs of its forward.
        **kwargs: Keyword inputs of its forward.

    Returns:
        Any: What the module's own forward returns.
    """
    forward = partial(type(module).forward, module)
    if not _records_graph(module, args, kwargs):
        return forward(*args, **kwargs)
    return checkpoint(forward, *args, use_reentrant=False, **kwargs)


def checkpoint_blocks(blocks: Iterable[nn.Module]) -> int:
    """Turn on activation checkpointing for each of ``blocks``.

    Args:
        blocks (Iterable[nn.Module]): The modules to checkpoint, typically the
            transformer blocks of a backbone.

    Returns:
        int: The number of modules now checkpointed.
    """
    count = 0
    for block in blocks:
        if 'forward' in block.__dict__:
            raise ValueError(
                f'{type(block).__name__} already has its forward replaced '
                '(checkpointing turned on twice, or by MMEngine\'s '
                'activation_checkpointing?); turn on only one.')
        bind_forward(block, checkpointed_forward)
        count += 1
    return count
