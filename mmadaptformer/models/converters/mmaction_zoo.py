# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMAction2's own VideoMAE checkpoints (``'mmaction2'``), e.g. its model
zoo's ``vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400_*.pth``: a
``Recognizer3D`` state dict whose ``backbone.*`` is mmaction2's
``VisionTransformer``, built there with ``num_frames=16``.

Its keys need no renaming. What ties it to 16 frames is the saved
``pos_embed``: the fixed sine-cosine table is a buffer of the backbone, so
the file holds it with the 16-frame length, and a model built for another
length refuses the file. That table depends on the number of tokens alone,
so it is rebuilt for the target's ``img_size`` and ``num_frames`` exactly as
mmaction2 computes it. A *learned* ``pos_embed`` (``use_learnable_pos_emb``)
is kept where its length fits and refused where it does not: it cannot be
recomputed, and no interpolation is made up for it. The ``cls_head`` is
dropped (a backbone file keeps none); keys that mmaction2's
``VisionTransformer`` does not have are reported as unmapped.
"""
import re
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from mmadaptformer.utils.official_vit_keys import (ADAPTER_KEY,
                                                   TOOLBOX_PATCH_EMBED_KEY)
from .common import (BACKBONE_PREFIX, ConversionError, shape_of,
                     sinusoid_encoding, video_tokens)
from .key_mapper import KeyMapper

#: The state-dict keys of mmaction2's ``VisionTransformer`` (VideoMAE),
#: ``layer_scale_init_value`` (``gamma_*``) and both final norms included.
VIT_KEY = re.compile(r'^(pos_embed|patch_embed\.projection\.(weight|bias)'
                     r'|(norm|fc_norm)\.(weight|bias)'
                     r'|blocks\.\d+\.((norm1|norm2|attn\.proj|mlp\.layers\.0'
                     r'\.0|mlp\.layers\.1)\.(weight|bias)'
                     r'|attn\.(q_bias|v_bias|qkv\.weight)|gamma_[12]))$')
HEAD_PREFIX = 'cls_head.'


def sinusoid_mismatch(table: Tensor) -> float:
    """How far ``table`` is from the fixed sine-cosine table of its length,
    in units of its dtype's resolution: at most 2 for the table itself (the
    same computation, rounded to that dtype), far more for a learned one.

    Args:
        table (Tensor): A ``(1, tokens, dims)`` position embedding.

    Returns:
        float: The largest absolute difference over ``finfo(dtype).eps``.
    """
    fixed = sinusoid_encoding(table.shape[1], table.shape[2])
    fixed = fixed.to(table.dtype).to(torch.float64)
    diff = (table.to(torch.float64) - fixed).abs().max().item()
    return diff / torch.finfo(table.dtype).eps


def split_mmaction2(conv: KeyMapper) -> Tuple[str, List[str]]:
    """Drop the classifier and take the backbone's keys out of their
    prefix.

    Args:
        conv (KeyMapper): The conversion; its remaining keys change.

    Returns:
        tuple: The backbone's prefix in the source (``'backbone.'``, or
        ``''`` for a bare backbone) and the source keys outside it, which
        are no part of a backbone file (unmapped).

    Raises:
        ConversionError: The checkpoint holds trained adapters.
    """
    adapters = [k for k in conv.remaining if ADAPTER_KEY.search(k)]
    if adapters:
        # A whole model (e.g. an official one converted before, or
        # merge_adapters.py's output) holds its backbone: it needs none.
        whole = any('patch_embed.' in k for k in conv.remaining)
        raise ConversionError(
            f'It holds trained adapters ({len(adapters)} tensors, e.g. '
            f'{adapters[0]!r}): it is a trained AdaptFormer model of this '
            'package, not a backbone to convert. Give it as the checkpoint '
            '(tools/test.py CONFIG FILE, load_from)' +
            ('; it holds its frozen backbone too, so it needs no '
             '--pretrained.'
             if whole else ' with the pretrained backbone it was trained on.'))
    for key in list(conv.remaining):
        if key.startswith(HEAD_PREFIX):
            conv.drop(
                key, 'classifier (cls_head); a backbone checkpoint '
                'keeps none')
    prefix = BACKBONE_PREFIX if any(
        k.startswith(BACKBONE_PREFIX) for k in conv.remaining) else ''
    foreign = [k for k in conv.remaining if not k.startswith(prefix)]
    for key in foreign:
        conv.remaining.pop(key)
    if prefix:
        conv.strip_source_prefix(prefix)
    return prefix, foreign


def convert_pos_embed(conv: KeyMapper, img_size: Optional[int],
                      num_frames: Optional[int]) -> None:
    """Give the backbone the ``pos_embed`` of the target's input: the fixed
    table rebuilt for its length, or a learned one whose length fits.

    Args:
        conv (KeyMapper): The conversion, after the backbone's other keys
            were moved (the patch embedding gives the tubelet and patch
            sizes).
        img_size (int, optional): The target's input size.
        num_frames (int, optional): The target's input frames. With
            ``img_size`` None, the saved table is kept as it is.

    Raises:
        ConversionError: A learned ``pos_embed`` of another length.
    """
    key = BACKBONE_PREFIX + 'pos_embed'
    embed = conv.out[BACKBONE_PREFIX + TOOLBOX_PATCH_EMBED_KEY]
    saved = conv.remaining.get('pos_embed')
    if img_size is None or num_frames is None:
        if saved is not None:
            conv.move('pos_embed', key)
        conv.notes.append(
            'No img_size/num_frames given: pos_embed was kept as saved' +
            ('' if saved is not None else ' (none; load with strict=False)') +
            '.')
        return
    tokens = video_tokens(embed, img_size, num_frames,
                          BACKBONE_PREFIX + TOOLBOX_PATCH_EMBED_KEY)
    setting = (f'img_size={img_size}, num_frames={num_frames} (patch '
               f'{embed.shape[-1]}, tubelet {embed.shape[2]})')
    if saved is not None and sinusoid_mismatch(saved) > 2:
        if saved.shape[1] != tokens:
            raise ConversionError(
                f'{conv.source_key("pos_embed")} {shape_of(saved)} is a '
                'learned position embedding (use_learnable_pos_emb=True; it '
                f'is not the fixed sine-cosine table of {saved.shape[1]} '
                f'tokens), of {saved.shape[1]} tokens, but {setting} needs '
                f'{tokens}. A learned table cannot be rebuilt for another '
                'length: convert with the img_size and num_frames it was '
                'trained for, and build the model with them.')
        conv.move('pos_embed', key)
        conv.notes.append(
            f'pos_embed is learned and was kept: its {tokens} tokens fit '
            f'{setting}; build the backbone with use_learnable_pos_emb=True.')
        return
    was = ('none saved' if saved is None else
           f'the saved table of {saved.shape[1]} tokens was dropped')
    if saved is not None:
        conv.drop(
            'pos_embed',
            f'fixed sine-cosine table of {saved.shape[1]} tokens, '
            'rebuilt for the target input')
    dtype = embed.dtype if saved is None else saved.dtype
    conv.add(
        key,
        sinusoid_encoding(tokens, embed.shape[0]).to(dtype),
        f"mmaction2's fixed sine-cosine table for {tokens} tokens: {setting}"
        f' ({was})')
    conv.notes.append(
        f'pos_embed was rebuilt for {setting}: build the backbone with them '
        '(the recipes here use num_frames=8, img_size=224).')


def convert_mmaction2(
        conv: KeyMapper, img_size: Optional[int],
        num_frames: Optional[int]) -> Tuple[List[str], List[str]]:
    """Make an MMAction2 VideoMAE checkpoint a backbone file for the
    target's input.

    Args:
        conv (KeyMapper): The conversion of the source state dict.
        img_size (int, optional): The target's input size.
        num_frames (int, optional): The target's input frames.

    Returns:
        tuple: The source keys outside the backbone other than the
        ``cls_head`` (unmapped), and those that a block lacks although the
        other blocks hold them (:meth:`KeyMapper.block_gaps`).

    Raises:
        ConversionError: See :func:`split_mmaction2` and
            :func:`convert_pos_embed`.
    """
    prefix, foreign = split_mmaction2(conv)
    missing = conv.block_gaps(conv.block_indices())
    for key in list(conv.remaining):
        if key != 'pos_embed' and VIT_KEY.match(key):
            conv.move(key, BACKBONE_PREFIX + key)
    if BACKBONE_PREFIX + TOOLBOX_PATCH_EMBED_KEY not in conv.out:
        raise ConversionError(
            f'It has no {prefix + TOOLBOX_PATCH_EMBED_KEY!r}: not an '
            "mmaction2 VisionTransformer's state dict.")
    convert_pos_embed(conv, img_size, num_frames)
    return foreign, missing
