# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tell the source format of a state dict from its key names."""
import re
from typing import Dict, List, Optional

from torch import Tensor

from mmadaptformer.utils.official_vit_keys import (ADAPTER_KEY,
                                                   PATCH_MODALITIES,
                                                   TOOLBOX_PATCH_EMBED_KEY,
                                                   is_mae_decoder_key,
                                                   official_vit_layout)
from .common import (BACKBONE_PREFIX, CONVERTIBLE_TYPES, MMACTION2_TYPE,
                     PRETRAIN_TYPES, VIDEO_TYPES, ConversionError,
                     SourceTypeMismatchError, shape_of)
from .mmaction_zoo import HEAD_PREFIX as MMACTION_HEAD_PREFIX
from .mmaction_zoo import VIT_KEY as MMACTION_VIT_KEY

#: What only a trained AdaptFormer model holds: adapters (ADAPTER_KEY) and
#: a classifier.
HEAD_KEY = re.compile(r'^head\.')
#: The block layout of the official AdaptFormer code (split q/k/v, MLP
#: directly in the block); VideoMAE and timm write fused qkv and ``mlp.``.
OFFICIAL_BLOCK_KEY = re.compile(r'\.attn\.[qkv]_proj\.|^blocks\.\d+\.fc[12]\.')
# Keys that only the official AdaptFormer code writes.
ADAPTFORMER_MARKERS = re.compile('|'.join(
    p.pattern for p in (ADAPTER_KEY, OFFICIAL_BLOCK_KEY, HEAD_KEY)))
PATCH_KINDS = {
    dims: f'Conv{dims - 2}d ({modality})'
    for dims, modality in PATCH_MODALITIES.items()
}
#: The top-level modules of the toolboxes' recognizers and classifiers, as
#: their model zoos and MMEngine's checkpoints name their keys.
#: Those other than the backbone.
NON_BACKBONE_PREFIXES = ('neck.', 'head.', MMACTION_HEAD_PREFIX,
                         'data_preprocessor.')
TOOLBOX_MODEL_PREFIXES = (BACKBONE_PREFIX, ) + NON_BACKBONE_PREFIXES
#: Where a file that needs no conversion goes.
AS_IT_IS = ('the checkpoint needs no conversion; give it as it is to a '
            'config of the backbone it holds (--pretrained, or as the '
            'checkpoint to test)')

#: What each source type holds, for the refusal of a type that does not fit.
TYPE_CONTENTS = {
    'adaptformer-video':
    'an official AdaptFormer video model, with '
    'adapters or a classifier head',
    'adaptformer-image':
    'an official AdaptFormer image model, with '
    'adapters or a classifier head',
    'videomae':
    'a VideoMAE backbone, without adapters; a classifier head '
    'is dropped',
    'mae':
    'an MAE ViT backbone, without adapters; a classifier head is '
    'dropped',
    MMACTION2_TYPE:
    "an MMAction2 VideoMAE model or backbone (its model zoo's layout, "
    f"'{BACKBONE_PREFIX}{TOOLBOX_PATCH_EMBED_KEY}'), without adapters; its "
    'cls_head is dropped',
}


def toolbox_patch_embed(state_dict: Dict[str, Tensor]) -> Optional[str]:
    """The key of the toolboxes' own patch embedding in a state dict:
    ``backbone.``-prefixed (a recognizer or classifier, as their model zoos
    save them) or bare (a backbone); None if it has none."""
    for key in (BACKBONE_PREFIX + TOOLBOX_PATCH_EMBED_KEY,
                TOOLBOX_PATCH_EMBED_KEY):
        if key in state_dict:
            return key
    return None


def other_backbone_keys(state_dict: Dict[str, Tensor],
                        toolbox: str) -> List[str]:
    """The keys of the backbone whose patch embedding is ``toolbox`` that
    mmaction2's VideoMAE ``VisionTransformer`` never has (adapters aside,
    which the conversion names itself): those of another backbone that
    shares its patch embedding's name, such as MMAction2's MViT."""
    prefix = toolbox[:-len(TOOLBOX_PATCH_EMBED_KEY)]
    return [
        key for key in state_dict
        if key.startswith(prefix) and not ADAPTER_KEY.search(key) and (
            prefix or not key.startswith(NON_BACKBONE_PREFIXES))
        and not MMACTION_VIT_KEY.match(key[len(prefix):])
    ]


def _toolbox_refusal(state_dict: Dict[str, Tensor], toolbox: str) -> str:
    """Why a file with the toolboxes' own patch embedding ``toolbox`` is
    not converted, or '' for MMAction2's VideoMAE layout."""
    projection = state_dict[toolbox]
    what = (f'{toolbox!r} {shape_of(projection)} is the '
            f'{PATCH_KINDS.get(projection.dim(), "unknown")} patch embedding '
            "of the toolboxes' own layout")
    if projection.dim() != 5:
        return (f"{what}, as an mmpretrain backbone's (VisionTransformer, "
                f'BEiTViT, SwinTransformer, ...): {AS_IT_IS}.')
    other = other_backbone_keys(state_dict, toolbox)
    if not other:
        return ''
    return (f"{what}, but the backbone is not mmaction2's VideoMAE "
            f'VisionTransformer: it holds {len(other)} keys that one never '
            f'has (e.g. {other[0]!r}), as another MMAction2 backbone does '
            f"(MViT's 'attn.rel_pos_*' and 'attn.pool_*'): {AS_IT_IS}.")


def detect_source_type(state_dict: Dict[str, Tensor]) -> str:
    """Tell which of :data:`CONVERTIBLE_TYPES` a state dict is, from key
    names.

    * ``encoder.``/``decoder.``-prefixed keys: ``'videomae'`` (pre-training).
    * No official patch embedding but mmcv's (``patch_embed.projection``,
      under ``backbone.`` or bare) with a Conv3d weight and VideoMAE's
      blocks: ``'mmaction2'``, MMAction2's own layout (its model zoo). One
      with other keys (MMAction2's MViT) or a Conv2d weight (mmpretrain's
      backbones), and any other recognizer or classifier (``backbone.*``
      keys only beside its neck and head), need no conversion (refused).
    * MAE decoder keys (``decoder_*``, ``mask_token``): ``'mae'``.
    * Otherwise the patch embedding decides video (Conv3d) or image
      (Conv2d), and AdaptFormer-only keys (``adaptmlp``, split
      ``q_proj/k_proj/v_proj``, block-level ``fc1``/``fc2``) or a classifier
      ``head`` make it an AdaptFormer checkpoint; without them it is taken as
      a plain ``'videomae'``/``'mae'`` backbone.

    Args:
        state_dict (dict): A state dict without ``module.`` prefixes.

    Returns:
        str: The detected source type.
    """
    keys = list(state_dict)
    layout = official_vit_layout(state_dict)
    if layout.pretrain:
        return 'videomae'
    patch = layout.patch_embed
    toolbox = toolbox_patch_embed(state_dict)
    if patch is None and toolbox is not None:
        refusal = _toolbox_refusal(state_dict, toolbox)
        if refusal:
            raise ConversionError(refusal)
        return MMACTION2_TYPE
    if patch is None and any(k.startswith(BACKBONE_PREFIX) for k in keys) \
            and all(k.startswith(TOOLBOX_MODEL_PREFIXES) for k in keys):
        raise ConversionError(
            'Its keys are those of an MMPretrain classifier or MMAction2 '
            f'recognizer (first keys {keys[:3]}), as their model zoos and '
            'tools/train.py save them, and it has no VideoMAE/MAE or '
            f'official AdaptFormer patch embedding: {AS_IT_IS}.')
    if patch is None:
        raise ConversionError(
            'Cannot detect the checkpoint type: it has no '
            "'patch_embed.proj.weight' (official/timm layout) nor "
            "'encoder.'-prefixed keys (VideoMAE pre-training). Its first keys "
            f'are {keys[:8]}. Is it already converted? Otherwise pass the '
            f'type explicitly (one of {CONVERTIBLE_TYPES}).')
    is_video = layout.modality == 'video'
    if not is_video and any(is_mae_decoder_key(k) for k in keys):
        return 'mae'
    official = any(ADAPTFORMER_MARKERS.search(k) for k in keys)
    if is_video:
        return 'adaptformer-video' if official else 'videomae'
    return 'adaptformer-image' if official else 'mae'


def _some(keys: List[str], what: str) -> str:
    """``what`` with how many keys show it and the first of them."""
    if len(keys) == 1:
        return f'{what} ({keys[0]!r})'
    return f'{what} ({len(keys)} tensors, e.g. {keys[0]!r})'


def describe_layout(state_dict: Dict[str, Tensor]) -> str:
    """What the key names of a state dict show about its source type.

    Args:
        state_dict (dict): A state dict without ``module.`` prefixes.

    Returns:
        str: A phrase such as ``"a Conv3d (video) patch embedding (...)
        and trained adapters (8 tensors, e.g. '...')"``.
    """
    keys = list(state_dict)
    found = []
    layout = official_vit_layout(state_dict)
    encoder, patch = list(layout.pretrain), layout.patch_embed
    if encoder:
        found.append(_some(encoder, 'VideoMAE pre-training keys'))
    elif patch is not None:
        kind = PATCH_KINDS.get(patch.dim(), f'{patch.dim()}-D')
        found.append(f"a {kind} patch embedding ('patch_embed.proj.weight' "
                     f'{shape_of(patch)})')
    toolbox = toolbox_patch_embed(state_dict)
    recognizer = []
    if not encoder and patch is None and toolbox is not None:
        projection = state_dict[toolbox]
        kind = PATCH_KINDS.get(projection.dim(), f'{projection.dim()}-D')
        found.append(f"a {kind} patch embedding in the toolboxes' own layout "
                     f'({toolbox!r} {shape_of(projection)})')
        recognizer = [k for k in keys if k.startswith(MMACTION_HEAD_PREFIX)]
    if recognizer:
        found.append(_some(recognizer, 'an MMAction2 cls_head'))
    decoder = [k for k in keys if is_mae_decoder_key(k)]
    if decoder and not encoder:
        found.append(_some(decoder, 'an MAE pre-training decoder'))
    adapters = list(layout.adapters)
    head = [k for k in keys if HEAD_KEY.search(k)]
    if adapters:
        found.append(_some(adapters, 'trained adapters'))
    if head:
        found.append(_some(head, 'a classifier head'))
    official = [k for k in keys if OFFICIAL_BLOCK_KEY.search(k)]
    if official and not (adapters or head):
        found.append(
            _some(official, 'the block layout of the official AdaptFormer '
                  'code'))
    if not found:
        return ('none of the keys that tell a source type (its first keys: '
                f'{keys[:5]})')
    text = ' and '.join(
        [', '.join(found[:-1]), found[-1]] if len(found) > 1 else found)
    if adapters or head:
        return text
    if recognizer:
        # Its head is a cls_head, not the official ``head``: what the file
        # is, not what it lacks.
        return (f'{text}, but no adapters: an MMAction2 recognizer, as its '
                'model zoo saves them')
    return f'{text}, but no adapters and no classifier head'


def check_source_type(state_dict: Dict[str, Tensor], source_type: str) -> None:
    """Refuse a ``source_type`` that the key names contradict.

    Every layout converts the blocks of the others, so a wrong type could
    pass with a result that fits nothing: an AdaptFormer checkpoint as
    ``'videomae'`` gave a "backbone" with trained adapters, and a bare
    backbone as ``'adaptformer-image'`` a classifier without a head. The
    type given must therefore be the one :func:`detect_source_type` tells,
    with one exception: a backbone type (``'videomae'``, ``'mae'``) for a
    fine-tuned backbone of the same modality without adapters, whose
    classifier head is then dropped and reported. When the key names tell
    nothing (no patch embedding), a backbone type is still refused for a
    checkpoint with adapters.

    Args:
        state_dict (dict): A state dict without ``module.`` prefixes.
        source_type (str): One of :data:`CONVERTIBLE_TYPES`.

    Raises:
        SourceTypeMismatchError: The key names say another type; it names
            that type and what the checkpoint holds.
    """
    adapters = bool(official_vit_layout(state_dict).adapters)
    try:
        detected = detect_source_type(state_dict)
    except ConversionError:
        if source_type not in PRETRAIN_TYPES or not adapters:
            return
        detected = ('adaptformer-video'
                    if source_type in VIDEO_TYPES else 'adaptformer-image')
    if detected == source_type:
        return
    if (source_type in PRETRAIN_TYPES and not adapters
            and detected != MMACTION2_TYPE
            and (source_type in VIDEO_TYPES) == (detected in VIDEO_TYPES)):
        # A fine-tuned backbone of the same modality: its classifier head
        # is dropped (and reported), nothing trained is lost silently.
        return
    raise SourceTypeMismatchError(
        source_type, detected,
        f'The checkpoint does not fit source type {source_type!r} '
        f'({TYPE_CONTENTS[source_type]}): it has '
        f'{describe_layout(state_dict)}.')
