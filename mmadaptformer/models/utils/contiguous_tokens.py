# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Give host backbones a contiguous token sequence.

mmcv's ``PatchEmbed`` returns ``x.flatten(2).transpose(1, 2)``: a ``(B, N, C)``
view of a ``(B, C, N)`` tensor. mmaction2's VideoMAE ViT adds the position
embedding to it, and elementwise ops keep their input's memory layout, so
every block works on transposed tokens: each LayerNorm copies its input to
a contiguous one in the forward and again in the backward pass, and a linear
layer on the residual stream (e.g. an adapter) copies and keeps its input.
Hosts that concatenate a class token first (mmpretrain's ViT) get a
contiguous sequence from ``torch.cat`` and need nothing.

:func:`make_tokens_contiguous` makes the patch embedding's output
contiguous once, with a forward hook; values and state-dict keys do not
change.
"""
from typing import Dict, List

from torch import nn

from ..hosts import HOSTS, qualname

__all__ = ['CONTIGUOUS_TOKEN_HOSTS', 'make_tokens_contiguous']

#: Hosts whose tokens stay transposed, keyed by exact ``module.qualname``,
#: and the attribute of their patch embedding.
#: Derived from :data:`mmadaptformer.models.hosts.HOSTS`.
CONTIGUOUS_TOKEN_HOSTS: Dict[str, str] = {
    spec.backbone: spec.token_embed
    for spec in HOSTS if spec.token_embed is not None
}


def _contiguous_output(module: nn.Module, args: tuple, output):
    # mmcv's PatchEmbed returns (tokens, out_size).
    if isinstance(output, tuple):
        return (output[0].contiguous(), ) + output[1:]
    return output.contiguous()


def make_tokens_contiguous(model: nn.Module) -> List[str]:
    """Make the token sequence of the known hosts in ``model`` contiguous.

    Args:
        model (nn.Module): Any module; hooks are added in place.

    Returns:
        list[str]: Names of the patch embeddings given the hook.

    Examples:
        >>> from mmaction.models.backbones.vit_mae import VisionTransformer
        >>> vit = VisionTransformer(img_size=32, embed_dims=64, depth=2,
        ...                         num_heads=2, num_frames=4)
        >>> make_tokens_contiguous(vit)
        ['patch_embed']
    """
    hooked = []
    for name, module in model.named_modules():
        attr = CONTIGUOUS_TOKEN_HOSTS.get(qualname(type(module)))
        embed = getattr(module, attr, None) if attr else None
        if isinstance(embed, nn.Module):
            embed.register_forward_hook(_contiguous_output)
            hooked.append(f'{name}.{attr}' if name else attr)
    return hooked
