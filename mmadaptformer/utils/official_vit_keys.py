# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Key names of official and timm ViT checkpoints (VideoMAE, MAE,
AdaptFormer), in one place for the converters
(``mmadaptformer.models.converters.detect``) and the ``--pretrained``
refusal's advice (:mod:`.pretrained_conversion`); and the patch embedding
of the toolboxes' own ViTs, which tells their layout from those."""
import re

__all__ = [
    'ADAPTER_KEY', 'PATCH_EMBED_KEY', 'PRETRAIN_PREFIXES',
    'TOOLBOX_PATCH_EMBED_KEY'
]

#: What only a trained AdaptFormer model holds: its adapters.
ADAPTER_KEY = re.compile(r'(^|\.)adaptmlp\.')
#: The prefixes of a VideoMAE pre-training checkpoint's keys.
PRETRAIN_PREFIXES = ('encoder.', 'decoder.', 'encoder_to_decoder.')
#: The patch embedding: Conv3d (5-D) for video, Conv2d (4-D) for images.
PATCH_EMBED_KEY = 'patch_embed.proj.weight'
#: The patch embedding of mmaction2's and mmpretrain's own
#: ``VisionTransformer`` (mmcv's ``PatchEmbed``), as their model zoos save
#: it under ``backbone.``.
TOOLBOX_PATCH_EMBED_KEY = 'patch_embed.projection.weight'
