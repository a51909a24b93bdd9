# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What the package knows about each supported host backbone, in one place.

Every feature that depends on a host's internals reads this table: adapter
injection (block wiring), VPT (where prompts can go), the fused attention
and the contiguous token sequence. Supporting a new host means adding one
:class:`HostSpec` here, not editing one table per feature.

Types are matched by their exact ``module.qualname`` (see :func:`qualname`):
subclasses, e.g. BEiT's layer, may change ``forward`` and are not matched.
"""
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from torch import nn

__all__ = [
    'HostSpec', 'HOSTS', 'qualname', 'block_like_types', 'host_block_wiring',
    'promptable_block_types', 'fused_attention_types', 'token_embed_attrs',
    'non_batch_first_block_types'
]


def qualname(cls: type) -> str:
    """``module.qualname`` of a class, the key of every host table.

    Args:
        cls (type): Any class.

    Returns:
        str: E.g. ``'mmaction.models.backbones.vit_mae.Block'``.
    """
    return f'{cls.__module__}.{cls.__qualname__}'


def block_like_types(model: nn.Module) -> List[str]:
    """Class names of the children of ModuleList/Sequential containers.

    Used by error messages to show which block types a model has.

    Args:
        model (nn.Module): Any module.

    Returns:
        list[str]: ``'Name (module.qualname)'`` entries, in module order.
    """
    names = OrderedDict()
    for module in model.modules():
        if isinstance(module, (nn.ModuleList, nn.Sequential)):
            for child in module.children():
                if not isinstance(child, (nn.ModuleList, nn.Sequential)):
                    cls = type(child)
                    names[f'{cls.__name__} ({qualname(cls)})'] = None
    return list(names)


@dataclass(frozen=True)
class HostSpec:
    """One host backbone and what the package knows about it.

    Attributes:
        backbone (str): ``module.qualname`` of the backbone class.
        block (str): ``module.qualname`` of its transformer block.
        norm (str): The block's norm right before the feed-forward network;
            its input is the AdaptMLP input.
        ffn (str): The block's feed-forward network.
        branch (str, optional): The module whose output is the whole
            feed-forward branch, when it is not the FFN's ``dropout_layer``
            (see :mod:`mmadaptformer.models.adapters.block_wiring`).
        promptable (bool): The block runs global self-attention over a
            ``(B, N, C)`` sequence with nothing tied to its length, so VPT
            can insert prompt tokens.
        attention (str, optional): ``module.qualname`` of a hand-written
            attention that has a fused forward.
        fused_forward (str, optional): Name of that forward in
            :mod:`mmadaptformer.models.utils.fused_attention`.
        token_embed (str, optional): Attribute of the patch embedding whose
            output tokens stay transposed (non-contiguous) in the host.
        batch_first (bool): The blocks' first input holds the samples along
            dim 0, possibly folded sample-major (``(b t) ...``). The
            multi-task forward lays its task streams out along that dim, so
            it refuses hosts whose blocks are not batch-first, e.g.
            sequence-first ``(L, N, C)`` blocks.
    """
    backbone: str
    block: str
    norm: str
    ffn: str
    branch: Optional[str] = None
    promptable: bool = False
    attention: Optional[str] = None
    fused_forward: Optional[str] = None
    token_embed: Optional[str] = None
    batch_first: bool = True

    @property
    def wiring(self) -> Dict[str, str]:
        """The block wiring as a ``block_types`` entry (without type)."""
        wiring = dict(norm=self.norm, ffn=self.ffn)
        if self.branch is not None:
            wiring['branch'] = self.branch
        return wiring


_VIDEOMAE = 'mmaction.models.backbones.vit_mae'
_SWIN3D = 'mmaction.models.backbones.swin'
_UNIFORMERV2 = 'mmaction.models.backbones.uniformerv2'
_UNIFORMER = 'mmaction.models.backbones.uniformer'
_MVIT = 'mmaction.models.backbones.mvit'
_VIT = 'mmpretrain.models.backbones.vision_transformer'

#: The supported hosts.
HOSTS: Tuple[HostSpec, ...] = (
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
        token_embed='patch_embed'),
    # x + drop_path(mlp(norm2(x))) in ``forward_part2``; windowed attention.
    HostSpec(
        backbone=f'{_SWIN3D}.SwinTransformer3D',
        block=f'{_SWIN3D}.SwinTransformerBlock3D',
        norm='norm2',
        ffn='mlp',
        branch='drop_path'),
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
        batch_first=False),
    # MViTv2: x + drop_path(mlp(norm2(x))), ``drop_path`` shared with
    # attention. Exact where the MLP keeps the width: with
    # ``dim_mul_in_attention=False`` the block before each width change
    # widens in its MLP and injection refuses it (leave it out by layers).
    HostSpec(
        backbone=f'{_MVIT}.MViT',
        block=f'{_MVIT}.MultiScaleBlock',
        norm='norm2',
        ffn='mlp',
        branch='drop_path'),
    # Divided space-time TimeSformer: each BaseTransformerLayer ends in an
    # FFNWithNorm, x + dropout_layer(layers(norm(x))), which is adapted as
    # the block. Space-only and joint space-time layers are mmcv's generic
    # BaseTransformerLayer + FFN, not claimed here (see the docs).
    HostSpec(
        backbone='mmaction.models.backbones.timesformer.TimeSformer',
        block='mmaction.models.common.transformer.FFNWithNorm',
        norm='norm',
        ffn='layers',
        branch='dropout_layer'),
    # The self-attention blocks of stages 3 and 4: x + drop_path(mlp(norm2(
    # x))) on (B, THW, C) tokens. The convolution blocks of stages 1 and 2
    # (``CBlock``, BatchNorm on (B, C, T, H, W) maps) get no adapter.
    HostSpec(
        backbone=f'{_UNIFORMER}.UniFormer',
        block=f'{_UNIFORMER}.SABlock',
        norm='norm2',
        ffn='mlp',
        branch='drop_path'),
    # ffn(ln2(x), identity=x); every ViT arch, DeiT included.
    HostSpec(
        backbone=f'{_VIT}.VisionTransformer',
        block=f'{_VIT}.TransformerEncoderLayer',
        norm='ln2',
        ffn='ffn',
        promptable=True),
    HostSpec(
        backbone='mmpretrain.models.backbones.deit.DistilledVisionTransformer',
        block=f'{_VIT}.TransformerEncoderLayer',
        norm='ln2',
        ffn='ffn',
        promptable=True),
    HostSpec(
        backbone='mmpretrain.models.backbones.swin_transformer.'
        'SwinTransformer',
        block='mmpretrain.models.backbones.swin_transformer.SwinBlock',
        norm='norm2',
        ffn='ffn'),
    # mmpretrain 1.2 feeds ``ln1(x)`` to the FFN and never calls ``ln2``, so
    # the input of the last ``ln1`` call is the adapter input.
    HostSpec(
        backbone='mmpretrain.models.backbones.deit3.DeiT3',
        block='mmpretrain.models.backbones.deit3.'
        'DeiT3TransformerEncoderLayer',
        norm='ln1',
        ffn='ffn',
        promptable=True),
    # BEiT and BEiTv2: x + drop_path(gamma_2 * ffn(ln2(x))), ``drop_path``
    # shared with attention; the FFN has no identity (and its own
    # DropPath, so the branch is dropped twice upstream).
    HostSpec(
        backbone='mmpretrain.models.backbones.beit.BEiTViT',
        block='mmpretrain.models.backbones.beit.BEiTTransformerEncoderLayer',
        norm='ln2',
        ffn='ffn',
        branch='drop_path'),
    # EVA-02: x + drop_path(mlp(norm2(x))) with a SwiGLU ``mlp``,
    # ``drop_path`` shared with attention.
    HostSpec(
        backbone='mmpretrain.models.backbones.vit_eva02.ViTEVA02',
        block='mmpretrain.models.backbones.vit_eva02.EVA02EndcoderLayer',
        norm='norm2',
        ffn='mlp',
        branch='drop_path'),
    # Post-norm: x + norm2(ffn(x)), the FFN's DropPath before ``norm2``.
    # No norm precedes the FFN, so the FFN's own input is the adapter
    # input and ``norm2``'s output the whole branch.
    HostSpec(
        backbone='mmpretrain.models.backbones.swin_transformer_v2.'
        'SwinTransformerV2',
        block='mmpretrain.models.backbones.swin_transformer_v2.SwinBlockV2',
        norm='ffn',
        ffn='ffn',
        branch='norm2'),
    # SAM's ViT: ffn(ln2(x), identity=x) on (B, H, W, C) maps, windowed
    # or global attention.
    HostSpec(
        backbone='mmpretrain.models.backbones.vit_sam.ViTSAM',
        block='mmpretrain.models.backbones.vit_sam.TransformerEncoderLayer',
        norm='ln2',
        ffn='ffn'),
    # x + drop_path(gamma_2 * mlp(norm2(x))), ``drop_path`` shared with
    # attention (an Identity without stochastic depth). The MLP-only stem
    # blocks, on (B, N, k, k, C) inner patches, are adapted too.
    HostSpec(
        backbone='mmpretrain.models.backbones.hivit.HiViT',
        block='mmpretrain.models.backbones.hivit.BlockWithRPE',
        norm='norm2',
        ffn='mlp',
        branch='drop_path'),
    # A TransformerEncoderLayer subclass with windowed attention:
    # ffn(norm2(x), identity=x), ``norm2`` being ``ln2``.
    HostSpec(
        backbone='mmpretrain.models.backbones.mixmim.MixMIMTransformer',
        block='mmpretrain.models.backbones.mixmim.MixMIMBlock',
        norm='ln2',
        ffn='ffn'),
    # Twins: x + drop_path(ffn(norm2(x))), ``drop_path`` shared with
    # attention; the FFN has no identity (and its own DropPath, so the
    # branch is dropped twice upstream). PCPVT has global sub-sampled
    # attention layers; SVT alternates them with locally grouped ones.
    HostSpec(
        backbone='mmpretrain.models.backbones.twins.PCPVT',
        block='mmpretrain.models.backbones.twins.GSAEncoderLayer',
        norm='norm2',
        ffn='ffn',
        branch='drop_path'),
    HostSpec(
        backbone='mmpretrain.models.backbones.twins.SVT',
        block='mmpretrain.models.backbones.twins.GSAEncoderLayer',
        norm='norm2',
        ffn='ffn',
        branch='drop_path'),
    HostSpec(
        backbone='mmpretrain.models.backbones.twins.SVT',
        block='mmpretrain.models.backbones.twins.LSAEncoderLayer',
        norm='norm2',
        ffn='ffn',
        branch='drop_path'),
    # DaViT: each DaViTBlock is a spatial (windowed) then a channel attention
    # block, both ffn(norm2(x), identity=x) after a convolutional position
    # encoding (cpe2), whose output is ``norm2``'s input.
    HostSpec(
        backbone='mmpretrain.models.backbones.davit.DaViT',
        block='mmpretrain.models.backbones.davit.SpatialBlock',
        norm='norm2',
        ffn='ffn'),
    HostSpec(
        backbone='mmpretrain.models.backbones.davit.DaViT',
        block='mmpretrain.models.backbones.davit.ChannelBlock',
        norm='norm2',
        ffn='ffn'),
    # XCiT's cross-covariance blocks: x + drop_path(gamma2 * ffn(norm2(x)))
    # after the attention and the local patch interaction, ``drop_path``
    # shared by all three. The class-attention blocks at the end attend
    # from the class token only and get no adapter.
    HostSpec(
        backbone='mmpretrain.models.backbones.xcit.XCiT',
        block='mmpretrain.models.backbones.xcit.XCABlock',
        norm='norm2',
        ffn='ffn',
        branch='drop_path'),
    # TinyViT's attention stages: x + drop_path(mlp(x)) after a depthwise
    # convolution, the LayerNorm inside ``mlp`` (so its input is the
    # adapter input), ``drop_path`` shared with attention. The first stage
    # (MBConv blocks) gets no adapter.
    HostSpec(
        backbone='mmpretrain.models.backbones.tinyvit.TinyViT',
        block='mmpretrain.models.backbones.tinyvit.TinyViTBlock',
        norm='mlp.norm',
        ffn='mlp',
        branch='drop_path'),
    # mmpretrain's MViTv2: x + drop_path(mlp(norm2(x))), ``drop_path``
    # shared with attention. Exact where the MLP keeps the width (the
    # default ``dim_mul_in_attention=True``); injection refuses the blocks
    # that widen in their MLP otherwise (mvitv2-large).
    HostSpec(
        backbone='mmpretrain.models.backbones.mvit.MViT',
        block='mmpretrain.models.backbones.mvit.MultiScaleBlock',
        norm='norm2',
        ffn='mlp',
        branch='drop_path'),
    # ffn(ln2(x), identity=x), in the encoder and in the two
    # tokens-to-token layers (whose attention changes the width, with a
    # shortcut from its values; their FFN keeps it).
    HostSpec(
        backbone='mmpretrain.models.backbones.t2t_vit.T2T_ViT',
        block='mmpretrain.models.backbones.t2t_vit.T2TTransformerLayer',
        norm='ln2',
        ffn='ffn'),
)


def non_batch_first_block_types() -> Dict[str, str]:
    """Block qualname -> backbone qualname of the hosts whose blocks are
    not batch-first (see :attr:`HostSpec.batch_first`)."""
    return {
        spec.block: spec.backbone
        for spec in HOSTS if not spec.batch_first
    }


def host_block_wiring() -> Dict[str, Dict[str, str]]:
    """Block wiring of every host, keyed by the block's qualname."""
    return {spec.block: spec.wiring for spec in HOSTS}


def promptable_block_types() -> Tuple[str, ...]:
    """Qualnames of the blocks VPT can prompt, in table order."""
    return tuple(
        OrderedDict((spec.block, None) for spec in HOSTS if spec.promptable))


def fused_attention_types() -> Dict[str, str]:
    """Attention qualname -> name of its fused forward."""
    return {
        spec.attention: spec.fused_forward
        for spec in HOSTS if spec.attention is not None
    }


def token_embed_attrs() -> Dict[str, str]:
    """Backbone qualname -> attribute of its transposed-token embedding."""
    return {
        spec.backbone: spec.token_embed
        for spec in HOSTS if spec.token_embed is not None
    }
