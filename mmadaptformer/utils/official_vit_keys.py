# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Key names of official and timm ViT checkpoints (VideoMAE, MAE,
AdaptFormer), in one place for the converters
(``mmadaptformer.models.converters.detect``) and the ``--pretrained``
refusal's advice (:mod:`.pretrained_conversion`)."""
import re

__all__ = ['ADAPTER_KEY', 'PATCH_EMBED_KEY', 'PRETRAIN_PREFIXES']

#: What only a trained AdaptFormer model holds: its adapters.
ADAPTER_KEY = re.compile(r'(^|\.)adaptmlp\.')
#: The prefixes of a VideoMAE pre-training checkpoint's keys.
PRETRAIN_PREFIXES = ('encoder.', 'decoder.', 'encoder_to_decoder.')
#: The patch embedding: Conv3d (5-D) for video, Conv2d (4-D) for images.
PATCH_EMBED_KEY = 'patch_embed.proj.weight'
