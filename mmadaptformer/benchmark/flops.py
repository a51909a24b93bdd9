# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A training step's FLOPs as executed (hardware FLOPs) and as the model
needs them, without the recomputation of fused attention backward kernels
and of activation checkpointing (model FLOPs)."""
from contextlib import contextmanager
from functools import partial
from typing import Callable, Iterator, Tuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ..models.utils.activation_checkpointing import checkpointed_forward
from ..utils import count_flops

__all__ = [
    'SDPA_BACKWARD_LAYOUTS', 'sdpa_recompute_flops', 'SDPARecompute',
    'checkpointing_off', 'count_step_flops'
]

#: Fused-attention backward kernels that recompute ``q k^T`` (PyTorch's
#: FLOP formula counts that as one of their 5 batched matmuls), by the
#: layout of their query: (batch, heads, seq, dim) or (batch, seq, heads,
#: dim).
SDPA_BACKWARD_LAYOUTS = {
    '_scaled_dot_product_flash_attention_for_cpu_backward': 'bhsd',
    '_scaled_dot_product_flash_attention_backward': 'bhsd',
    '_scaled_dot_product_efficient_attention_backward': 'bhsd',
    '_scaled_dot_product_cudnn_attention_backward': 'bhsd',
    '_flash_attention_backward': 'bshd',
    '_efficient_attention_backward': 'bshd',
}


def sdpa_recompute_flops(layout: str, query_shape: Tuple[int, ...],
                         key_shape: Tuple[int, ...]) -> int:
    """FLOPs of the ``q k^T`` that a fused attention backward recomputes:
    the first batched matmul of
    ``torch.utils.flop_counter.sdpa_backward_flop_count``.

    Args:
        layout (str): ``'bhsd'`` or ``'bshd'``, see
            :data:`SDPA_BACKWARD_LAYOUTS`.
        query_shape (tuple[int]): The query's shape.
        key_shape (tuple[int]): The key's shape.

    Returns:
        int: ``2 * batch * heads * seq_q * seq_k * dim``.
    """
    if layout == 'bhsd':
        b, h, s_q, d = query_shape
        s_k = key_shape[2]
    else:
        b, s_q, h, d = query_shape
        s_k = key_shape[1]
    return 2 * b * h * s_q * s_k * d


class SDPARecompute(TorchDispatchMode):
    """Sums :func:`sdpa_recompute_flops` over the fused attention backward
    calls that run inside it.

    Examples:
        >>> with SDPARecompute() as recompute:
        ...     model.train_step(data, optim_wrapper)
        >>> recompute.flops, recompute.calls
    """

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0
        self.calls = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        layout = SDPA_BACKWARD_LAYOUTS.get(func.overloadpacket.__name__)
        # args: grad_out, query, key, ...; nested (3-d) inputs not handled.
        if layout and len(args) > 2 and args[1].dim() == 4:
            self.flops += sdpa_recompute_flops(layout, tuple(args[1].shape),
                                               tuple(args[2].shape))
            self.calls += 1
        return func(*args, **(kwargs or {}))


@contextmanager
def checkpointing_off(model: torch.nn.Module) -> Iterator[int]:
    """Switch activation checkpointing off in ``model`` (the AdaptFormer
    wrapper's ``with_cp`` blocks, and every module with a ``with_cp``
    attribute set to True, as OpenMMLab backbones and blocks have), and
    back on at exit.

    Yields:
        int: How many switches were turned off (0: nothing checkpointed).
    """
    undo = []
    for module in model.modules():
        forward = module.__dict__.get('forward')
        if isinstance(forward, partial) and \
                forward.func is checkpointed_forward:
            del module.forward
            undo.append(partial(setattr, module, 'forward', forward))
        if getattr(module, 'with_cp', None) is True:
            module.with_cp = False
            undo.append(partial(setattr, module, 'with_cp', True))
    try:
        yield len(undo)
    finally:
        for restore in reversed(undo):
            restore()


def count_step_flops(step: Callable[[], object],
                     model: torch.nn.Module) -> dict:
    """FLOPs of a training step as executed, and as the model needs them.

    Args:
        step (Callable): Runs one training step of ``model``; called once,
            or twice when ``model`` checkpoints activations.
        model (nn.Module): The model, for :func:`checkpointing_off`.

    Returns:
        dict: ``step_flops``: what :func:`~mmadaptformer.utils.count_flops`
        counts (recomputation by fused attention backward kernels and by
        activation checkpointing included: hardware FLOPs);
        ``model_flops``: the step with checkpointing off, less the
        recomputed ``q k^T`` of each fused attention backward
        (``sdpa_recompute_flops``, over ``sdpa_backward_calls`` calls);
        ``checkpointing``: whether a second step was counted with
        checkpointing off.
    """

    def counted():
        recompute = SDPARecompute()

        def run():
            with recompute:
                step()

        return count_flops(run), recompute

    step_flops, recompute = counted()
    flops = step_flops
    with checkpointing_off(model) as switched:
        if switched:
            flops, recompute = counted()
    return dict(
        step_flops=step_flops,
        model_flops=flops - recompute.flops,
        sdpa_recompute_flops=recompute.flops,
        sdpa_backward_calls=recompute.calls,
        checkpointing=bool(switched))
