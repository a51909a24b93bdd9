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
    'promptable_block_types', 'fused_attention_types', 'token_embed_attrs'
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
            (see :mod:`mmadaptformer.models.adapters.injection`).
        promptable (bool): The block runs global self-attention over a
            ``(B, N, C)`` sequence with nothing tied to its length, so VPT
            can insert prompt tokens.
        attention (str, optional): ``module.qualname`` of a hand-written
            attention that has a fused forward.
        fused_forward (str, optional): Name of that forward in
            :mod:`mmadaptformer.models.utils.fused_attention`.
        token_embed (str, optional): Attribute of the patch embedding whose
            output tokens stay transposed (non-contiguous) in the host.
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

    @property
    def wiring(self) -> Dict[str, str]:
        """The block wiring as a ``block_types`` entry (without type)."""
        wiring = dict(norm=self.norm, ffn=self.ffn)
        if self.branch is not None:
            wiring['branch'] = self.branch
        return wiring


_VIDEOMAE = 'mmaction.models.backbones.vit_mae'
_SWIN3D = 'mmaction.models.backbones.swin'
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
)


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
