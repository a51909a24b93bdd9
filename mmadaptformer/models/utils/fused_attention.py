# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Run hand-written host attention through one fused kernel.

mmaction2's VideoMAE ``Attention`` computes ``softmax(q k^T * scale) v`` op by
op, so autograd keeps the ``(B, heads, N, N)`` attention matrix of every
block for the backward pass. :func:`fuse_attention` makes such modules call
:func:`torch.nn.functional.scaled_dot_product_attention` instead, which picks
a flash or memory-efficient kernel on GPUs and a flash kernel on CPUs, and
keeps only ``q``, ``k``, ``v`` and the output. Under CPU autocast the host's
own forward is faster and runs instead.

Only the module's ``forward`` changes (an instance attribute, see
:func:`~.bound_forward.bind_forward`, which also binds it in multi-GPU
``DataParallel`` replicas): parameters, buffers and state-dict keys stay the
host's.
"""
from typing import Callable, Dict, List

import torch
import torch.nn.functional as F
from torch import nn

from ..hosts import HOSTS, qualname
from .bound_forward import bind_forward

__all__ = ['FUSED_ATTENTION_FORWARDS', 'fuse_attention']


def vit_mae_attention_forward(attn: nn.Module,
                              x: torch.Tensor) -> torch.Tensor:
    """Fused forward of ``mmaction.models.backbones.vit_mae.Attention``.

    The same computation as the host's ``forward``: a fused ``qkv``
    projection with ``q_bias``/``v_bias`` (no key bias), ``attn.scale``
    (``qk_scale`` or ``head_dims ** -0.5``), attention dropout in training
    only, then ``proj`` and ``proj_drop``.

    Under CPU autocast the host's forward runs instead: PyTorch's CPU flash
    kernel is about twice as slow in bfloat16 as the host's two matmuls,
    which autocast runs in bfloat16 (see ``docs/benchmark.md``).

    Args:
        attn (nn.Module): The host attention module.
        x (torch.Tensor): Tokens of shape ``(B, N, C)``.

    Returns:
        torch.Tensor: The attention output, of shape ``(B, N, C)``.
    """
    if x.device.type == 'cpu' and torch.is_autocast_enabled('cpu'):
        return type(attn).forward(attn, x)
    B, N, _ = x.shape
    if hasattr(attn, 'q_bias'):
        bias = torch.cat(
            (attn.q_bias, torch.zeros_like(attn.v_bias), attn.v_bias))
        qkv = F.linear(x, attn.qkv.weight, bias)
    else:
        qkv = attn.qkv(x)
    qkv = qkv.reshape(B, N, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    x = F.scaled_dot_product_attention(
        q,
        k,
        v,
        dropout_p=attn.attn_drop.p if attn.training else 0.,
        scale=attn.scale)
    x = x.transpose(1, 2).reshape(B, N, -1)
    return attn.proj_drop(attn.proj(x))


#: Fused forwards keyed by the exact ``module.qualname`` of the host
#: attention they replace, as declared in
#: :data:`mmadaptformer.models.hosts.HOSTS`. Subclasses are not matched:
#: they may compute something else.
_IMPLEMENTATIONS: Dict[str, Callable] = {
    'vit_mae_attention_forward': vit_mae_attention_forward,
}
FUSED_ATTENTION_FORWARDS: Dict[str, Callable] = {
    spec.attention: _IMPLEMENTATIONS[spec.fused_forward]
    for spec in HOSTS if spec.attention is not None
}


def fuse_attention(model: nn.Module) -> List[str]:
    """Make the known hand-written attention modules of ``model`` fused.

    Modules whose type is in :data:`FUSED_ATTENTION_FORWARDS` get the fused
    forward; every other module (e.g. mmpretrain's ``MultiheadAttention``,
    which already calls ``scaled_dot_product_attention``) is left alone.

    Args:
        model (nn.Module): Any module; changed in place.

    Returns:
        list[str]: Names of the modules made fused.

    Examples:
        >>> from mmaction.models.backbones.vit_mae import VisionTransformer
        >>> vit = VisionTransformer(img_size=32, embed_dims=64, depth=2,
        ...                         num_heads=2, num_frames=4)
        >>> fuse_attention(vit)
        ['blocks.0.attn', 'blocks.1.attn']
    """
    fused = []
    for name, module in model.named_modules():
        forward = FUSED_ATTENTION_FORWARDS.get(qualname(type(module)))
        if forward is None:
            continue
        if 'forward' in module.__dict__:
            raise ValueError(
                f'{name} ({type(module).__name__}) already has its forward '
                'replaced; fuse_attention was called twice on the model.')
        bind_forward(module, forward)
        fused.append(name)
    return fused
