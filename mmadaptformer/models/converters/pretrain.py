# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What only the pre-training formats need: VideoMAE (``'videomae'``,
also its fixed position table) and MAE (``'mae'``) checkpoints keep their
encoder and lose the decoder."""
from typing import Optional

import torch
from torch import Tensor

from mmadaptformer.utils.official_vit_keys import (PATCH_EMBED_KEY,
                                                   is_mae_decoder_key)
from .common import BACKBONE_PREFIX, sinusoid_encoding, video_tokens
from .key_mapper import KeyMapper


def split_pretrain(conv: KeyMapper) -> None:
    """Keep the encoder of a pre-training checkpoint and drop the rest.

    Args:
        conv (KeyMapper): The conversion; its remaining keys change.
    """
    if conv.source_type == 'videomae':
        encoder = [k for k in conv.remaining if k.startswith('encoder.')]
        if encoder:
            for key in list(conv.remaining):
                if not key.startswith('encoder.'):
                    conv.drop(key, 'pre-training decoder')
            conv.strip_source_prefix('encoder.')
    else:
        for key in list(conv.remaining):
            if is_mae_decoder_key(key):
                conv.drop(key, 'pre-training decoder')
    for key in list(conv.remaining):
        if key.startswith('head.'):
            conv.drop(key, 'classifier; a backbone checkpoint keeps none')


def add_video_pos_embed(conv: KeyMapper, embed: Tensor,
                        img_size: Optional[int],
                        num_frames: Optional[int]) -> None:
    """Rebuild VideoMAE's fixed position table, a buffer in mmaction2.

    Args:
        conv (KeyMapper): The conversion.
        embed (Tensor): The converted patch embedding weight.
        img_size (int, optional): Input size; None skips with a note.
        num_frames (int, optional): Input frames; None skips with a note.
    """
    if img_size is None or num_frames is None:
        conv.notes.append(
            'No pos_embed in the checkpoint and no img_size/num_frames '
            'given: mmaction2 keeps the fixed sine-cosine table as a buffer, '
            'so load the result with strict=False.')
        return
    num_patches = video_tokens(embed, img_size, num_frames, PATCH_EMBED_KEY)
    tubelet, patch = embed.shape[2], embed.shape[-1]
    conv.add(
        BACKBONE_PREFIX + 'pos_embed',
        sinusoid_encoding(num_patches, embed.shape[0]).to(embed.dtype),
        f'fixed sine-cosine table, not saved by VideoMAE: {num_patches} '
        f'tokens for img_size={img_size}, num_frames={num_frames}, '
        f'patch {patch}, tubelet {tubelet}')
    conv.notes.append(
        f'pos_embed was rebuilt for img_size={img_size}, '
        f'num_frames={num_frames}: they must match the model config (the '
        'official main_video.py defaults to --num_frames 8).')


def add_pooled_norm(conv: KeyMapper, embed: Tensor) -> None:
    """Add the pooled-feature norm that fine-tuning starts fresh: identity
    LayerNorm parameters (weight 1, bias 0), as freshly initialised.

    Args:
        conv (KeyMapper): The conversion.
        embed (Tensor): The converted patch embedding weight (its output
            dims and dtype are the norm's).
    """
    pooled = f'{BACKBONE_PREFIX}{conv.target.pooled_norm}'
    if pooled + '.weight' in conv.out:
        return
    reason = ('pooled-feature norm, new in fine-tuning: identity '
              'LayerNorm (weight 1, bias 0) as freshly initialised')
    dims, dtype = embed.shape[0], embed.dtype
    conv.add(pooled + '.weight', torch.ones(dims, dtype=dtype), reason)
    conv.add(pooled + '.bias', torch.zeros(dims, dtype=dtype), reason)
