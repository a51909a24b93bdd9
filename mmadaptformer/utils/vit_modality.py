# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Whether a checkpoint in the toolboxes' own ViT layout is an image
model's or a video model's, and the refusal's words when it is not the
model's kind.

MMPretrain's ViT (the image recipes) and MMAction2's VideoMAE ViT (the
video recipes) name their patch embedding alike,
``patch_embed.projection.weight``, but the image one is a Conv2d weight
``(C, 3, P, P)`` and the video one a Conv3d weight ``(C, 3, T, P, P)``.
Their blocks differ in name too (``layers.N.ln1`` against
``blocks.N.norm1``), so a whole image AdaptFormer model given to a video
config was refused as a backbone "of another depth or layout", which says
nothing of what the file is.
"""
from typing import Mapping, Optional, Tuple

import torch

from .official_vit_keys import PATCH_MODALITIES, TOOLBOX_PATCH_EMBED_KEY

__all__ = ['patch_embed_modality', 'modality_mismatch_cause']

#: The toolbox whose ViT a model of each kind is.
_TOOLBOXES = {'image': 'MMPretrain', 'video': 'MMAction2'}


def patch_embed_modality(
        state: Mapping,
        prefix: str = '') -> Optional[Tuple[str, str, Tuple[int, ...]]]:
    """``(modality, key, shape)`` of the toolboxes' patch embedding among
    the keys of ``state`` under ``prefix``: ``'image'`` for a Conv2d weight,
    ``'video'`` for a Conv3d one; None where there is none.

    Args:
        state (Mapping): A state dict (or a model's).
        prefix (str): Only keys under it count. Defaults to ''.
    """
    for key, value in state.items():
        if not (isinstance(key, str) and key.startswith(prefix)
                and key.endswith(TOOLBOX_PATCH_EMBED_KEY) and
                torch.is_tensor(value) and value.dim() in PATCH_MODALITIES):
            continue
        return PATCH_MODALITIES[value.dim()], key, tuple(value.shape)
    return None


def modality_mismatch_cause(own: Mapping,
                            state: Mapping,
                            prefix: str = '') -> Optional[str]:
    """Why ``state`` does not fit the model whose state dict is ``own``
    when one is an image ViT's and the other a video ViT's (their patch
    embeddings, :func:`patch_embed_modality`), with what fits; None where
    they are of one kind or either does not show it.

    Args:
        own (Mapping): The model's state dict (or the part it is loaded
            into).
        state (Mapping): The state dict being loaded.
        prefix (str): Where ``own``'s keys sit in ``state``. Defaults to
            ''.

    Returns:
        str, optional: A clause for the refusal, without a final full stop.
    """
    theirs = patch_embed_modality(state, prefix)
    ours = patch_embed_modality(own)
    if theirs is None or ours is None or theirs[0] == ours[0]:
        return None
    (kind, _, shape), (model_kind, _, model_shape) = theirs, ours
    # A Conv2d weight has 4 dimensions, a Conv3d one 5.
    conv, model_conv = (f'Conv{len(s) - 2}d' for s in (shape, model_shape))
    toolbox, model_toolbox = _TOOLBOXES[kind], _TOOLBOXES[model_kind]
    return (f"it is {_a(kind)} {kind} model's checkpoint ({toolbox}'s ViT: "
            f'its patch embedding {theirs[1]} is a {conv} weight of shape '
            f'{theirs[2]}), and this model is {_a(model_kind)} {model_kind} '
            f"one ({model_toolbox}'s ViT, a {model_conv} patch embedding). "
            f'Use it with {_a(kind)} {kind} ({toolbox}) config, such as the '
            f'one it was trained with, and give this {model_kind} config '
            f"{_a(model_kind)} {model_kind} model's checkpoint; "
            'tools/model_converters/convert_official.py makes no '
            f'{model_kind} model of {_a(kind)} {kind} one')


def _a(kind: str) -> str:
    """The article before ``kind``."""
    return 'an' if kind == 'image' else 'a'
