# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Count the FLOPs a piece of code runs, fused attention included.

:func:`count_flops` uses :class:`torch.utils.flop_counter.FlopCounterMode`,
which counts matmuls, convolutions and ``scaled_dot_product_attention`` in the
forward and the backward pass, a multiply-add as 2 FLOPs (OpenMMLab's tables,
made with MMEngine's counter, give multiply-adds: half of these numbers).
MMEngine's counter does not count ``scaled_dot_product_attention`` at all,
which the AdaptFormer wrapper and mmpretrain's ViT use, and torch 2.14 counts
its GPU kernels but not the CPU one: PyTorch's own attention formulas are
registered for the CPU kernel here.
"""
from typing import Callable

import torch
from torch.utils import flop_counter

__all__ = ['count_flops']


def _register_cpu_flash_attention_flops() -> None:
    aten = torch.ops.aten
    forward = getattr(aten, '_scaled_dot_product_flash_attention_for_cpu',
                      None)
    backward = getattr(aten,
                       '_scaled_dot_product_flash_attention_for_cpu_backward',
                       None)
    if forward is not None and forward not in flop_counter.flop_registry:

        @flop_counter.register_flop_formula(forward, get_raw=True)
        def _forward(query, key, value, *args, out_val=None, **kwargs):
            return flop_counter.sdpa_flop_count(query.shape, key.shape,
                                                value.shape)

    if backward is not None and backward not in flop_counter.flop_registry:
        # Like PyTorch's formula for the GPU kernels, this includes the
        # backward's recomputation of q k^T.
        @flop_counter.register_flop_formula(backward, get_raw=True)
        def _backward(grad_out,
                      query,
                      key,
                      value,
                      *args,
                      out_val=None,
                      **kwargs):
            return flop_counter.sdpa_backward_flop_count(
                grad_out.shape, query.shape, key.shape, value.shape)


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of the matmuls, convolutions and attention that ``fn`` runs.

    Args:
        fn (Callable): Called once, e.g. a forward pass, or a training step
            with its backward pass.

    Returns:
        int: The FLOPs counted (a multiply-add is 2 FLOPs).

    Examples:
        >>> a, b = torch.randn(8, 16), torch.randn(16, 4)
        >>> count_flops(lambda: a @ b)
        1024
    """
    _register_cpu_flash_attention_flops()
    with flop_counter.FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()
