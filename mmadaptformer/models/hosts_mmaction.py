# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The mmaction2 hosts (see :mod:`mmadaptformer.models.hosts`)."""
from typing import Tuple

from .host_spec import HostSpec

__all__ = ['MMACTION_HOSTS']

_VIDEOMAE = 'mmaction.models.backbones.vit_mae'
_SWIN3D = 'mmaction.models.backbones.swin'
_UNIFORMERV2 = 'mmaction.models.backbones.uniformerv2'
_UNIFORMER = 'mmaction.models.backbones.uniformer'
_MVIT = 'mmaction.models.backbones.mvit'
_WIDTHS = 'mmadaptformer.models.host_widths'
#: The weights UniFormerV2 and UniFormer read by name (mmaction2's
#: ``_MODELS``), for their declarations' ``pretrained_names`` and advice.
_CLIP_NAMES = ('ViT-B/16', 'ViT-L/14', 'ViT-L/14_336')
_UNIFORMER_NAMES = ('uniformer_small_in1k', 'uniformer_base_in1k')


def _either(names: Tuple[str, ...]) -> str:
    """``"'a', 'b' or 'c'"``."""
    quoted = [repr(name) for name in names]
    return ', '.join(quoted[:-1]) + ' or ' + quoted[-1]


#: The supported mmaction2 hosts.
MMACTION_HOSTS: Tuple[HostSpec, ...] = (
    # x + drop_path(mlp(norm2(x))), ``drop_path`` shared with attention;
    # hand-written attention; tokens transposed after the patch embedding.
    HostSpec(
        backbone=f'{_VIDEOMAE}.VisionTransformer',
        block=f'{_VIDEOMAE}.Block',
        norm='norm2',
        ffn='mlp',
        branch='drop_path',
        promptable=True,
        attention=f'{_VIDEOMAE}.Attention',
        fused_forward='vit_mae_attention_forward',
        token_embed='patch_embed',
        feature_width=f'{_WIDTHS}.embed_dims_width'),
    # x + drop_path(mlp(norm2(x))) in ``forward_part2``; windowed attention.
    HostSpec(
        backbone=f'{_SWIN3D}.SwinTransformer3D',
        block=f'{_SWIN3D}.SwinTransformerBlock3D',
        norm='norm2',
        ffn='mlp',
        branch='drop_path',
        own_pretrained=(('pretrained', None), ('pretrained2d', False)),
        own_pretrained_advice='the 2D Swin weights it inflates: set '
        '{key}.pretrained={file} and {key}.pretrained2d=True',
        own_pretrained_key='model',
        feature_width=f'{_WIDTHS}.stage_width'),
    # CLIP blocks: x + drop_path(mlp(ln_2(x))) on a sequence-first
    # (1 + HW, N * T, C) input, ``drop_path`` shared with attention and the
    # local MHRAs. The global UniBlocks (``Extractor``, new in UniFormerV2
    # and attending from one temporal class token) get no adapter.
    HostSpec(
        backbone=f'{_UNIFORMERV2}.UniFormerV2',
        block=f'{_UNIFORMERV2}.ResidualAttentionBlock',
        norm='ln_2',
        ffn='mlp',
        branch='drop_path',
        batch_first=False,
        own_pretrained=(('pretrained', None), ('clip_pretrained', False)),
        own_pretrained_advice='the CLIP visual encoder it starts from, '
        'which it reads by name only, not from a file: set '
        '{key}.clip_pretrained=True and {key}.pretrained to '
        f'{_either(_CLIP_NAMES)} (mmaction2 downloads it)',
        pretrained_names=('clip_pretrained', _CLIP_NAMES),
        feature_width=f'{_WIDTHS}.uniformerv2_width'),
    # MViTv2: x + drop_path(mlp(norm2(x))), ``drop_path`` shared with
    # attention. Exact where the MLP keeps the width: with
    # ``dim_mul_in_attention=False`` the block before each width change
    # widens in its MLP and injection refuses it (leave it out by layers).
    # With ``pretrained_type='maskfeat'`` its own init_weights() reads the
    # file itself (``backbone.`` keys, relative positions resized); the
    # wrapper reads it that way and checks it before it loads. Its
    # constructor calls ``init_cfg.copy()``: ``init_cfg=None`` fails.
    HostSpec(
        backbone=f'{_MVIT}.MViT',
        block=f'{_MVIT}.MultiScaleBlock',
        norm='norm2',
        ffn='mlp',
        branch='drop_path',
        own_pretrained=(('pretrained_type', None), ),
        pretrained_reader='mmadaptformer.models.backbones.maskfeat_weights.'
        'maskfeat_state_dict',
        feature_width=f'{_WIDTHS}.scale_norm_width',
        init_cfg_none_fails=True),
    # Divided space-time TimeSformer: each BaseTransformerLayer ends in an
    # FFNWithNorm, x + dropout_layer(layers(norm(x))), which is adapted as
    # the block. Space-only and joint space-time layers are mmcv's generic
    # BaseTransformerLayer + FFN, not claimed here (see the docs).
    HostSpec(
        backbone='mmaction.models.backbones.timesformer.TimeSformer',
        block='mmaction.models.common.transformer.FFNWithNorm',
        norm='norm',
        ffn='layers',
        branch='dropout_layer',
        own_pretrained=(('pretrained', None), ),
        own_pretrained_advice="the 2D ViT weights it converts (mmcv's "
        'transformer layout, as mmaction2 publishes them): set '
        '{key}.pretrained={file}',
        own_layout='mmadaptformer.models.backbones.own_layout.'
        'timesformer_2d_vit',
        feature_width=f'{_WIDTHS}.embed_dims_width'),
    # The self-attention blocks of stages 3 and 4: x + drop_path(mlp(norm2(
    # x))) on (B, THW, C) tokens. The convolution blocks of stages 1 and 2
    # (``CBlock``, BatchNorm on (B, C, T, H, W) maps) get no adapter.
    HostSpec(
        backbone=f'{_UNIFORMER}.UniFormer',
        block=f'{_UNIFORMER}.SABlock',
        norm='norm2',
        ffn='mlp',
        branch='drop_path',
        own_pretrained=(('pretrained', None), ('pretrained2d', False)),
        own_pretrained_advice='the 2D ImageNet weights it inflates, which '
        'it reads by name only, not from a file: set '
        '{key}.pretrained2d=True and {key}.pretrained to '
        f'{_either(_UNIFORMER_NAMES)} (mmaction2 downloads them)',
        pretrained_names=('pretrained2d', _UNIFORMER_NAMES),
        feature_width=f'{_WIDTHS}.final_norm_width'),
)
