# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tell the source format of a state dict from its key names."""
import re
from typing import Dict, Optional

from torch import Tensor

from .common import SOURCE_TYPES, ConversionError
from .io import strip_module_prefix

# Keys that only the official AdaptFormer code writes.
ADAPTFORMER_MARKERS = re.compile(
    r'(^|\.)adaptmlp\.|\.attn\.[qkv]_proj\.|^blocks\.\d+\.fc[12]\.|^head\.')


def detect_source_type(state_dict: Dict[str, Tensor]) -> str:
    """Tell which of :data:`SOURCE_TYPES` a state dict is, from key names.

    * ``encoder.``/``decoder.``-prefixed keys: ``'videomae'`` (pre-training).
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
    if any(
            k.startswith(('encoder.', 'decoder.', 'encoder_to_decoder.'))
            for k in keys):
        return 'videomae'
    patch = state_dict.get('patch_embed.proj.weight')
    if patch is None:
        raise ConversionError(
            'Cannot detect the checkpoint type: it has no '
            "'patch_embed.proj.weight' (official/timm layout) nor "
            "'encoder.'-prefixed keys (VideoMAE pre-training). Its first keys "
            f'are {keys[:8]}. Is it already converted? Otherwise pass the '
            f'type explicitly (one of {SOURCE_TYPES}).')
    is_video = patch.dim() == 5
    if not is_video and any(
            k.startswith('decoder_') or k == 'mask_token' for k in keys):
        return 'mae'
    official = any(ADAPTFORMER_MARKERS.search(k) for k in keys)
    if is_video:
        return 'adaptformer-video' if official else 'videomae'
    return 'adaptformer-image' if official else 'mae'


def detect_other_type(state_dict: Dict[str, Tensor],
                      source_type: str) -> Optional[str]:
    """What a state dict looks like, when a conversion as ``source_type``
    failed and detection says it is another type.

    Args:
        state_dict (dict): A state dict, ``module.`` prefixes allowed.
        source_type (str): The type it failed to convert as.

    Returns:
        str, optional: The detected type, or None if it is ``source_type``
        or cannot be told.
    """
    try:
        detected = detect_source_type(strip_module_prefix(state_dict))
    except ConversionError:
        return None
    return None if detected == source_type else detected
