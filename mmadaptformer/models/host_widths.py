# Copyright (c) mmadaptformer contributors. All rights reserved.
"""How wide the features are that a built host hands the next module.

Each function takes a built host backbone and returns the channel width
(dim 1) of the last tensor its forward returns, the one that mmaction2's
and mmpretrain's heads read (``feats[-1]``, its class token for MViT's
``[patch_token, cls_token]``), or None where that is not a channel width
(the ``(B, N, C)`` tokens of ``out_type='raw'``). A host names its function
in :attr:`~mmadaptformer.models.host_spec.HostSpec.feature_width`;
``tests/test_models/test_host_widths.py`` runs every declared host's
forward and compares.

Declared by none, so their heads are not checked: Conformer (a CNN and a
transformer feature per output, of two widths) and LeViT (its
``LeViTClsHead`` is not compared anyway).
"""
from typing import Optional

from torch import nn

__all__ = [
    'embed_dims_width', 'stage_width', 'stage_norm_width', 'scale_norm_width',
    'final_norm_width', 'uniformerv2_width', 'revvit_width', 't2t_width',
    'twins_width', 'sam_width', 'mobilevit_width'
]

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d,
                nn.SyncBatchNorm)


def _norm_width(norm: nn.Module) -> Optional[int]:
    """The width a LayerNorm or a BatchNorm normalises, else None (an
    ``nn.Identity`` for ``norm_cfg=None`` says nothing)."""
    if isinstance(norm, nn.LayerNorm):
        return norm.normalized_shape[-1]
    if isinstance(norm, _BATCH_NORMS):
        return norm.num_features
    return None


def embed_dims_width(host: nn.Module) -> Optional[int]:
    """``embed_dims``, the width of the class token, the pooled tokens and
    the feature map of a plain ViT (mmaction2's VideoMAE ViT with or
    without ``return_feat_map``, TimeSformer, mmpretrain's ViT family),
    and of HiViT's last main block (the last feature whatever its
    ``out_indices``; any other it would pick is refused before the work dir
    by :func:`~mmadaptformer.models.backbones.host_outputs.
    hivit_unusable_outputs`); None for ``out_type='raw'``."""
    if getattr(host, 'out_type', None) == 'raw':
        return None
    return host.embed_dims


def stage_width(host: nn.Module) -> Optional[int]:
    """``num_features`` of the last of ``out_indices``, a hierarchical
    host's stage widths (Swin, Swin3D, DaViT), already shifted by one
    stage for ``out_after_downsample``."""
    return host.num_features[max(host.out_indices)]


def stage_norm_width(host: nn.Module) -> Optional[int]:
    """The width of ``norm{i}`` for the last ``i`` of ``out_indices``, the
    norm each output of a hierarchical host goes through (Swin V2, whose
    stage widths are kept in no list)."""
    return _norm_width(getattr(host, f'norm{max(host.out_indices)}'))


def scale_norm_width(host: nn.Module) -> Optional[int]:
    """The width of ``norm{i}`` for the last ``i`` of ``out_scales``
    (MViTv2, mmaction2's and mmpretrain's)."""
    return _norm_width(getattr(host, f'norm{max(host.out_scales)}'))


def twins_width(host: nn.Module) -> Optional[int]:
    """``embed_dims`` of the last of ``out_indices``, Twins' stage widths
    (PCPVT, SVT); its ``norm_after_stage{i}`` is an Identity by
    default."""
    return host.embed_dims[max(host.out_indices)]


def final_norm_width(host: nn.Module) -> Optional[int]:
    """The width of ``norm``, the norm the whole output goes through
    (UniFormer's BatchNorm3d, MixMIM's pooled tokens, TNT's class
    token)."""
    return _norm_width(host.norm)


def uniformerv2_width(host: nn.Module) -> Optional[int]:
    """The width of UniFormerV2's output, the norm at the end of its
    global UniBlocks (``n_dim``, which the backbone does not keep)."""
    return _norm_width(host.transformer.norm)


def revvit_width(host: nn.Module) -> Optional[int]:
    """``2 * embed_dims``: RevViT's output joins its two reversible streams
    along the channels; None for ``out_type='raw'``."""
    if host.out_type == 'raw':
        return None
    return 2 * host.embed_dims


def t2t_width(host: nn.Module) -> Optional[int]:
    """The width of T2T-ViT's tokens, its tokens-to-token module's output
    (``embed_dims``, which the backbone does not keep); None for
    ``out_type='raw'``."""
    if host.out_type == 'raw':
        return None
    return host.tokens_to_token.project.out_features


def sam_width(host: nn.Module) -> Optional[int]:
    """SAM's ViT: ``out_channels`` where its channel-reduction neck maps
    the ``(B, C, H, W)`` map to them, else ``embed_dims`` (its ``raw`` is
    that map too)."""
    return host.out_channels if host.out_channels > 0 else host.embed_dims


def mobilevit_width(host: nn.Module) -> Optional[int]:
    """MobileViT: the width of the last of ``out_indices``, the last layer's
    (``conv_1x1_exp``, which runs after it whatever ``out_indices`` says,
    widens it ``last_exp_factor`` times) or an earlier layer's, whose last
    convolution (``conv_fusion``, or ``conv_proj`` without it, in a
    MobileViT layer; the projection in a MobileNetV2 one) gives its
    output."""
    last = max(host.out_indices)
    layer = host.conv_1x1_exp if last == len(host.layers) - 1 \
        else host.layers[last]
    convs = [m for m in layer.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1].out_channels if convs else None
