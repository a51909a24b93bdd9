# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Convert official AdaptFormer, VideoMAE and MAE checkpoints.

AdaptFormer (arXiv 2205.13535) was released as a stand-alone code base whose
ViTs differ from the MMAction2/MMPretrain ones only in parameter names and in
how a few tensors are split. This module renames and reshapes their state
dicts into the layout of this package; nothing here builds a model.

Four official source layouts are understood (``SOURCE_TYPES``):

* ``'adaptformer-video'``: a checkpoint of the official ``main_video.py``
  (VideoMAE-style ViT with ``attn.q_proj/k_proj/v_proj``, ``attn.q_bias``
  and ``attn.v_bias``, a flattened MLP ``fc1``/``fc2`` directly in the block,
  ``adaptmlp`` and a BatchNorm + Linear head ``head.0``/``head.1``). It
  becomes a full MMAction2 ``Recognizer3D`` state dict (``backbone.*`` and
  ``cls_head.*``) for an ``AdaptFormer`` around mmaction2's
  ``VisionTransformer`` and a ``BNLinearHead``.
* ``'adaptformer-image'``: a checkpoint of the official ``main_image.py``
  (MAE/timm-style ViT with biased ``q_proj/k_proj/v_proj``, flattened MLP,
  ``adaptmlp``, ``norm`` or ``fc_norm`` and the same head). It becomes a full
  MMPretrain ``ImageClassifier`` state dict (``backbone.*`` and ``head.*``)
  for an ``AdaptFormer`` around mmpretrain's ``VisionTransformer`` and a
  ``BNLinearHead``.
* ``'videomae'``: a VideoMAE pre-training checkpoint (``encoder.*`` plus a
  decoder that is dropped); also the copy the official ``convert.py`` writes
  (split q/k/v, flattened MLP, still ``encoder.``-prefixed). It becomes a
  backbone-only state dict (``backbone.*``) for mmaction2's
  ``VisionTransformer``.
* ``'mae'``: an MAE pre-training checkpoint (timm ViT with fused ``qkv``;
  the decoder is dropped). It becomes a backbone-only state dict
  (``backbone.*``) for mmpretrain's ``VisionTransformer``.

MMAction2's own layout (``'mmaction2'``, its model zoo's VideoMAE files) is
understood too (:mod:`.mmaction_zoo`): its backbone is kept, with the
position table rebuilt for the target's frames and size.

Keys that are neither mapped nor knowingly dropped are returned as
``unmapped`` (or raise, with ``strict=True``) so that nothing is lost
silently. Keys that a block lacks although the other blocks hold them are
returned as ``missing`` and warned about: the converted checkpoint lacks
them too, and loading it into a model is refused.
"""
import logging
from typing import Dict, List, Optional

from mmengine.logging import print_log
from torch import Tensor

from .common import (BACKBONE_PREFIX, CONVERTIBLE_TYPES, DEFAULT_IMG_SIZE,
                     DEFAULT_NUM_FRAMES, FINAL_NORM_MODES, MMACTION2_TYPE,
                     MMACTION_TARGET, MMPRETRAIN_TARGET, PRETRAIN_TYPES,
                     VIDEO_TYPES, ConversionError, ConversionResult)
from .detect import check_source_type, detect_source_type
from .finetuned import adapter_notes, complete_classifier
from .io import strip_module_prefix
from .key_mapper import KeyMapper
from .mmaction_zoo import convert_mmaction2, convert_pos_embed
from .pretrain import add_pooled_norm, add_video_pos_embed, split_pretrain
from .report import missing_message, target_notes, unmapped_message


def default_final_norm(source_type: str) -> str:
    """``'pooled'`` for the video formats, ``'keep'`` for the image ones."""
    # The official video recipe mean-pools (fc_norm); the image recipe
    # defaults to the class token after the final norm.
    return 'pooled' if source_type in VIDEO_TYPES else 'keep'


def _refuse_second_wrapper(state_dict: Dict[str, Tensor]) -> None:
    """Refuse a state dict whose keys all start with ``module.`` after one
    was stripped: the layout of a model wrapped twice, which no source
    type has (its refusal would ask whether it was converted already)."""
    if state_dict and all(k.startswith('module.') for k in state_dict):
        first = next(iter(state_dict))
        raise ConversionError(
            f"Every key starts with 'module.module.' (e.g. 'module.{first}'):"
            ' a model wrapped twice (a DataParallel or '
            'DistributedDataParallel around another) saved its state dict. '
            "One 'module.' is stripped, "
            "as MMEngine's load_checkpoint strips it; save the unwrapped "
            "model's state_dict() (model.module.module) and convert that.")


def convert_state_dict(state_dict: Dict[str, Tensor],
                       source_type: str = 'auto',
                       final_norm: Optional[str] = None,
                       img_size: Optional[int] = DEFAULT_IMG_SIZE,
                       num_frames: Optional[int] = DEFAULT_NUM_FRAMES,
                       identity_bn: bool = True,
                       strict: bool = True) -> ConversionResult:
    """Convert an official state dict into this package's key layout.

    Args:
        state_dict (dict): The source state dict (see
            :func:`unwrap_checkpoint`); one leading ``module.`` (a DDP
            wrapper's) is stripped from its keys.
        source_type (str): One of :data:`CONVERTIBLE_TYPES`, or ``'auto'``
            to use :func:`detect_source_type`. A type given must be the one
            the key names say (:func:`check_source_type`). Defaults to
            ``'auto'``.
        final_norm (str, optional): One of :data:`FINAL_NORM_MODES`, for a
            source final ``norm``. With ``'pooled'`` a pre-training
            checkpoint also gets the pooled-feature norm (mmaction2
            ``fc_norm``, mmpretrain ``ln2``) with identity parameters, as the
            official fine-tuning starts from a fresh one. Defaults to None:
            ``'pooled'`` for video types, ``'keep'`` for image types; the
            ``'mmaction2'`` type keeps its norms as they are and takes
            none.
        img_size (int, optional): Input size of the video model, used to
            rebuild the fixed sine-cosine ``pos_embed`` that VideoMAE does
            not save but mmaction2 keeps as a buffer, and to check a saved
            one (:func:`video_pos_embed`). None skips it.
            For ``'mmaction2'``, the saved fixed table is rebuilt for it.
            Defaults to 224 (mmaction2's default).
        num_frames (int, optional): Input frames of the video model, for the
            same purpose. Defaults to 8, as ``convert_official.py
            --num-frames``, every recipe here and the official
            ``main_video.py`` (not mmaction2's 16).
        identity_bn (bool): If the source head is a plain Linear
            (``head.weight``), add BatchNorm statistics that make
            ``BNLinearHead``'s BatchNorm an identity. False writes the Linear
            only, for ``TimeSformerHead``/``LinearClsHead``. Defaults to True.
        strict (bool): Raise :class:`ConversionError` if a source key cannot
            be mapped. Defaults to True.

    Returns:
        ConversionResult: The converted state dict and a report.

    Raises:
        SourceTypeMismatchError: ``source_type`` is not the type the key
            names say.
        ConversionError: The checkpoint cannot be converted, or every key
            starts with ``module.module.`` (a model wrapped twice).
    """
    state_dict = strip_module_prefix(state_dict)
    _refuse_second_wrapper(state_dict)
    if source_type == 'auto':
        source_type = detect_source_type(state_dict)
    elif source_type not in CONVERTIBLE_TYPES:
        raise ConversionError("source_type must be 'auto' or one of "
                              f'{CONVERTIBLE_TYPES}, but got {source_type!r}.')
    else:
        check_source_type(state_dict, source_type)
    if source_type == MMACTION2_TYPE:
        if final_norm is not None:
            raise ConversionError(
                f'final_norm={final_norm!r}: an {MMACTION2_TYPE} checkpoint '
                'is already in the layout of mmaction2\'s VisionTransformer '
                'and keeps its norms as they are; give no final_norm.')
        conv = KeyMapper(state_dict, source_type, MMACTION_TARGET, 'keep')
        foreign, missing = convert_mmaction2(conv, img_size, num_frames)
        target_notes(conv, pretrain=True)
        return _finish(conv, missing, foreign + conv.unmapped(), strict)
    if final_norm is None:
        final_norm = default_final_norm(source_type)
    if final_norm not in FINAL_NORM_MODES:
        raise ConversionError(
            f'final_norm must be one of {FINAL_NORM_MODES} or None, but got '
            f'{final_norm!r}.')
    target = (
        MMACTION_TARGET if source_type in VIDEO_TYPES else MMPRETRAIN_TARGET)
    conv = KeyMapper(state_dict, source_type, target, final_norm)
    pretrain = source_type in PRETRAIN_TYPES
    if pretrain:
        split_pretrain(conv)

    conv.convert_stem()
    indices = conv.block_indices()
    missing = conv.block_gaps(indices)
    for index in indices:
        conv.convert_block(index)
    conv.convert_final_norms()
    if not pretrain:
        conv.convert_head()

    embed = conv.out.get(BACKBONE_PREFIX + 'patch_embed.projection.weight')
    if target is MMACTION_TARGET:
        video_pos_embed(conv, embed, img_size, num_frames)
    if pretrain and final_norm == 'pooled' and embed is not None:
        add_pooled_norm(conv, embed)
    if not pretrain:
        complete_classifier(conv, identity_bn)
    target_notes(conv, pretrain)
    adapter_notes(conv, len(indices))
    return _finish(conv, missing, conv.unmapped(), strict)


def video_pos_embed(conv: KeyMapper, embed: Optional[Tensor],
                    img_size: Optional[int],
                    num_frames: Optional[int]) -> None:
    """Give a video conversion the ``pos_embed`` of the target's input.

    VideoMAE and the official video code keep the fixed table out of their
    state dicts, so it is rebuilt; a saved one (``use_learnable_pos_emb``,
    or a fork that saves the fixed table) is checked against the target's
    tokens as an MMAction2 file's is: a fixed table is rebuilt, a learned
    one of another length refused, naming its key and the tokens needed.

    Args:
        conv (KeyMapper): The conversion, after the stem and blocks.
        embed (Tensor, optional): The converted patch embedding weight;
            None (no patch embedding) keeps a saved table as it is.
        img_size (int, optional): The target's input size.
        num_frames (int, optional): The target's input frames.
    """
    if 'pos_embed' in conv.remaining:
        if embed is None:
            conv.move('pos_embed', BACKBONE_PREFIX + 'pos_embed')
        else:
            convert_pos_embed(conv, img_size, num_frames)
    elif embed is not None:
        add_video_pos_embed(conv, embed, img_size, num_frames)


def _finish(conv: KeyMapper, missing: List[str], unmapped: List[str],
            strict: bool) -> ConversionResult:
    """The result of a conversion, logged; raises for unmapped keys with
    ``strict``."""
    result = ConversionResult(
        state_dict=conv.out,
        source_type=conv.source_type,
        dropped=conv.dropped,
        added=conv.added,
        unmapped=unmapped,
        notes=conv.notes,
        missing=missing)
    print_log(
        f'Converted the {conv.source_type} checkpoint: {len(conv.out)} keys '
        f'written ({len(conv.added)} added), {len(conv.dropped)} dropped, '
        f'{len(result.unmapped)} unmapped, {len(missing)} missing from '
        'their blocks.',
        logger='current')
    if missing:
        print_log(
            missing_message(result), logger='current', level=logging.WARNING)
    if strict and result.unmapped:
        raise ConversionError(unmapped_message(result))
    return result
