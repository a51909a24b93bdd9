# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The mmpretrain hosts (see :mod:`mmadaptformer.models.hosts`)."""
from typing import Tuple

from .host_spec import HostSpec

__all__ = ['MMPRETRAIN_HOSTS']

_VIT = 'mmpretrain.models.backbones.vision_transformer'
_TNT = 'mmpretrain.models.backbones.tnt'
_LEVIT = 'mmpretrain.models.backbones.levit'
_REVVIT = 'mmpretrain.models.backbones.revvit'
_WIDTHS = 'mmadaptformer.models.host_widths'

#: The supported mmpretrain hosts.
MMPRETRAIN_HOSTS: Tuple[HostSpec, ...] = (
    # ffn(ln2(x), identity=x); every ViT arch, DeiT included.
    HostSpec(
        backbone=f'{_VIT}.VisionTransformer',
        block=f'{_VIT}.TransformerEncoderLayer',
        norm='ln2',
        ffn='ffn',
        promptable=True,
        feature_width=f'{_WIDTHS}.embed_dims_width'),
    HostSpec(
        backbone='mmpretrain.models.backbones.deit.DistilledVisionTransformer',
        block=f'{_VIT}.TransformerEncoderLayer',
        norm='ln2',
        ffn='ffn',
        promptable=True,
        feature_width=f'{_WIDTHS}.embed_dims_width'),
    HostSpec(
        backbone='mmpretrain.models.backbones.swin_transformer.'
        'SwinTransformer',
        block='mmpretrain.models.backbones.swin_transformer.SwinBlock',
        norm='norm2',
        ffn='ffn',
        feature_width=f'{_WIDTHS}.stage_width'),
    # mmpretrain 1.2 feeds ``ln1(x)`` to the FFN and never calls ``ln2``, so
    # the input of the last ``ln1`` call is the adapter input.
    HostSpec(
        backbone='mmpretrain.models.backbones.deit3.DeiT3',
        block='mmpretrain.models.backbones.deit3.'
        'DeiT3TransformerEncoderLayer',
        norm='ln1',
        ffn='ffn',
        promptable=True,
        feature_width=f'{_WIDTHS}.embed_dims_width'),
    # BEiT and BEiTv2: x + drop_path(gamma_2 * ffn(ln2(x))), ``drop_path``
    # shared with attention; the FFN has no identity (and its own
    # DropPath, so the branch is dropped twice upstream).
    HostSpec(
        backbone='mmpretrain.models.backbones.beit.BEiTViT',
        block='mmpretrain.models.backbones.beit.BEiTTransformerEncoderLayer',
        norm='ln2',
        ffn='ffn',
        branch='drop_path',
        feature_width=f'{_WIDTHS}.embed_dims_width'),
    # EVA-02: x + drop_path(mlp(norm2(x))) with a SwiGLU ``mlp``,
    # ``drop_path`` shared with attention.
    HostSpec(
        backbone='mmpretrain.models.backbones.vit_eva02.ViTEVA02',
        block='mmpretrain.models.backbones.vit_eva02.EVA02EndcoderLayer',
        norm='norm2',
        ffn='mlp',
        branch='drop_path',
        feature_width=f'{_WIDTHS}.embed_dims_width',
        # Its rotary embedding (one module, shared by the blocks) rebuilds
        # its tables for an input of another size than ``img_size``.
        input_sized_state=(('mmpretrain.models.utils.position_encoding.'
                            'RotaryEmbeddingFast',
                            ('patch_resolution', 'freqs_cos',
                             'freqs_sin')), )),
    # Post-norm: x + norm2(ffn(x)), the FFN's DropPath before ``norm2``.
    # No norm precedes the FFN, so the FFN's own input is the adapter
    # input and ``norm2``'s output the whole branch.
    HostSpec(
        backbone='mmpretrain.models.backbones.swin_transformer_v2.'
        'SwinTransformerV2',
        block='mmpretrain.models.backbones.swin_transformer_v2.SwinBlockV2',
        norm='ffn',
        ffn='ffn',
        branch='norm2',
        feature_width=f'{_WIDTHS}.stage_norm_width'),
    # SAM's ViT: ffn(ln2(x), identity=x) on (B, H, W, C) maps, windowed
    # or global attention.
    HostSpec(
        backbone='mmpretrain.models.backbones.vit_sam.ViTSAM',
        block='mmpretrain.models.backbones.vit_sam.TransformerEncoderLayer',
        norm='ln2',
        ffn='ffn',
        feature_width=f'{_WIDTHS}.sam_width'),
    # x + drop_path(gamma_2 * mlp(norm2(x))), ``drop_path`` shared with
    # attention (an Identity without stochastic depth). The MLP-only stem
    # blocks, on (B, N, k, k, C) inner patches, are adapted too. Its output
    # check refuses every out index but the last main block's, so the
    # feature the head reads is always that block's, embed_dims wide.
    HostSpec(
        backbone='mmpretrain.models.backbones.hivit.HiViT',
        block='mmpretrain.models.backbones.hivit.BlockWithRPE',
        norm='norm2',
        ffn='mlp',
        branch='drop_path',
        output_check='mmadaptformer.models.backbones.host_outputs.'
        'hivit_unusable_outputs',
        output_check_keys=('arch.depths', 'out_indices'),
        feature_width=f'{_WIDTHS}.embed_dims_width'),
    # A TransformerEncoderLayer subclass with windowed attention:
    # ffn(norm2(x), identity=x), ``norm2`` being ``ln2``.
    HostSpec(
        backbone='mmpretrain.models.backbones.mixmim.MixMIMTransformer',
        block='mmpretrain.models.backbones.mixmim.MixMIMBlock',
        norm='ln2',
        ffn='ffn',
        feature_width=f'{_WIDTHS}.final_norm_width'),
    # Twins: x + drop_path(ffn(norm2(x))), ``drop_path`` shared with
    # attention; the FFN has no identity (and its own DropPath, so the
    # branch is dropped twice upstream). PCPVT has global sub-sampled
    # attention layers; SVT alternates them with locally grouped ones.
    HostSpec(
        backbone='mmpretrain.models.backbones.twins.PCPVT',
        block='mmpretrain.models.backbones.twins.GSAEncoderLayer',
        norm='norm2',
        ffn='ffn',
        branch='drop_path',
        feature_width=f'{_WIDTHS}.twins_width'),
    HostSpec(
        backbone='mmpretrain.models.backbones.twins.SVT',
        block='mmpretrain.models.backbones.twins.GSAEncoderLayer',
        norm='norm2',
        ffn='ffn',
        branch='drop_path',
        feature_width=f'{_WIDTHS}.twins_width'),
    HostSpec(
        backbone='mmpretrain.models.backbones.twins.SVT',
        block='mmpretrain.models.backbones.twins.LSAEncoderLayer',
        norm='norm2',
        ffn='ffn',
        branch='drop_path',
        feature_width=f'{_WIDTHS}.twins_width'),
    # DaViT: each DaViTBlock is a spatial (windowed) then a channel attention
    # block, both ffn(norm2(x), identity=x) after a convolutional position
    # encoding (cpe2), whose output is ``norm2``'s input.
    HostSpec(
        backbone='mmpretrain.models.backbones.davit.DaViT',
        block='mmpretrain.models.backbones.davit.SpatialBlock',
        norm='norm2',
        ffn='ffn',
        feature_width=f'{_WIDTHS}.stage_width'),
    HostSpec(
        backbone='mmpretrain.models.backbones.davit.DaViT',
        block='mmpretrain.models.backbones.davit.ChannelBlock',
        norm='norm2',
        ffn='ffn',
        feature_width=f'{_WIDTHS}.stage_width'),
    # XCiT's cross-covariance blocks: x + drop_path(gamma2 * ffn(norm2(x)))
    # after the attention and the local patch interaction, ``drop_path``
    # shared by all three. The class-attention blocks at the end attend
    # from the class token only and get no adapter.
    HostSpec(
        backbone='mmpretrain.models.backbones.xcit.XCiT',
        block='mmpretrain.models.backbones.xcit.XCABlock',
        norm='norm2',
        ffn='ffn',
        branch='drop_path',
        feature_width=f'{_WIDTHS}.embed_dims_width'),
    # TinyViT's attention stages: x + drop_path(mlp(x)) after a depthwise
    # convolution, the LayerNorm inside ``mlp`` (so its input is the
    # adapter input), ``drop_path`` shared with attention. The first stage
    # (MBConv blocks) gets no adapter.
    HostSpec(
        backbone='mmpretrain.models.backbones.tinyvit.TinyViT',
        block='mmpretrain.models.backbones.tinyvit.TinyViTBlock',
        norm='mlp.norm',
        ffn='mlp',
        branch='drop_path',
        feature_width=f'{_WIDTHS}.stage_norm_width'),
    # mmpretrain's MViTv2: x + drop_path(mlp(norm2(x))), ``drop_path``
    # shared with attention. Exact where the MLP keeps the width (the
    # default ``dim_mul_in_attention=True``); injection refuses the blocks
    # that widen in their MLP otherwise (mvitv2-large).
    HostSpec(
        backbone='mmpretrain.models.backbones.mvit.MViT',
        block='mmpretrain.models.backbones.mvit.MultiScaleBlock',
        norm='norm2',
        ffn='mlp',
        branch='drop_path',
        feature_width=f'{_WIDTHS}.scale_norm_width'),
    # ffn(ln2(x), identity=x), in the encoder and in the two
    # tokens-to-token layers (whose attention changes the width, with a
    # shortcut from its values; their FFN keeps it).
    HostSpec(
        backbone='mmpretrain.models.backbones.t2t_vit.T2T_ViT',
        block='mmpretrain.models.backbones.t2t_vit.T2TTransformerLayer',
        norm='ln2',
        ffn='ffn',
        feature_width=f'{_WIDTHS}.t2t_width'),
    # TNT: the inner (pixel-level, on (B * patches, pixels, C) tokens) and
    # the outer (patch-level) blocks of each layer are the same pre-norm
    # block, ffn(norm_ffn(x), identity=x), and both are adapted, inner
    # then outer; odd ``layers`` pick the outer ones only.
    HostSpec(
        backbone=f'{_TNT}.TNT',
        block=f'{_TNT}.TransformerBlock',
        norm='norm_ffn',
        ffn='ffn',
        side_stream='its patch tokens pass beside the inner (pixel) blocks, '
        'which take (B * patches, pixels, C) tokens, and each layer adds the '
        'pixel tokens to the patch tokens reshaped with their batch size',
        feature_width=f'{_WIDTHS}.final_norm_width'),
    # LeViT: each MLP is a Residual of its own, x + drop_path(block(x)),
    # BatchNorm inside its linears and no norm in front, so the MLP's input
    # is the adapter input. The attentions' Residuals get no adapter.
    HostSpec(
        backbone=f'{_LEVIT}.LeViT',
        block=f'{_LEVIT}.Residual',
        norm='block',
        ffn='block',
        branch='drop_path',
        ffn_type=f'{_LEVIT}.MLP'),
    # RevViT: y2 = x2 + drop_path(ffn(ln2(y1))), the G of a reversible
    # pair. The adapter joins the FFN output, so it is part of G and the
    # custom backward's x2 = y2 - G(y1) stays exact (it calls ln2 and ffn
    # again, hooks included, under the same seeds). The drop path is built
    # inline, so blocks with one are refused; the recipes have none. Each
    # block takes and gives the pair (x1, x2), both (B, N, C): the
    # multi-task forward lays its task streams out in both.
    HostSpec(
        backbone=f'{_REVVIT}.RevVisionTransformer',
        block=f'{_REVVIT}.RevTransformerEncoderLayer',
        norm='ln2',
        ffn='ffn',
        branch='ffn',
        inline_drop_path='drop_path_cfg',
        reversible_input='drop_after_pos',
        stream_inputs=2,
        feature_width=f'{_WIDTHS}.revvit_width'),
    # Conformer's transformer branch and MobileViT's global representations
    # are ViT layers, ffn(ln2(x), identity=x); their convolutions get no
    # adapter. Neither (nor TNT) is served by the multi-task forward: the
    # ``side_stream`` says why.
    HostSpec(
        backbone='mmpretrain.models.backbones.conformer.Conformer',
        block=f'{_VIT}.TransformerEncoderLayer',
        norm='ln2',
        ffn='ffn',
        side_stream='its CNN branch runs beside the transformer blocks and '
        'meets their tokens in every ConvTransBlock'),
    HostSpec(
        backbone='mmpretrain.models.backbones.mobilevit.MobileViT',
        block=f'{_VIT}.TransformerEncoderLayer',
        norm='ln2',
        ffn='ffn',
        side_stream='each MobileVitBlock unfolds its convolutional input '
        'into the (B * patch area, patches, C) tokens of its transformer '
        'blocks, folds them back with that input\'s batch size and joins '
        'them to a shortcut of it',
        feature_width=f'{_WIDTHS}.mobilevit_width'),
)
