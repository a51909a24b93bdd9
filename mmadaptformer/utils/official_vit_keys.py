# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Key names of official and timm ViT checkpoints (VideoMAE, MAE,
AdaptFormer), and what they tell about a state dict
(:func:`official_vit_layout`), in one place for the converters
(``mmadaptformer.models.converters.detect``) and the ``--pretrained``
refusal's advice (:mod:`.pretrained_conversion`); and the patch embedding
of the toolboxes' own ViTs, which tells their layout from those."""
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Tuple

__all__ = [
    'ADAPTER_KEY', 'BLOCK_KEY', 'PATCH_EMBED_KEY', 'PATCH_MODALITIES',
    'PRETRAIN_PREFIXES', 'STACK_KEY', 'SWIN_STAGE_KEY',
    'TOOLBOX_PATCH_EMBED_KEY', 'OfficialViTLayout', 'is_mae_decoder_key',
    'official_vit_layout', 'other_backbone', 'unconverted_vit_layout'
]

#: A key of a block of the official/timm/VideoMAE layouts,
#: ``blocks.<index>.<rest>``.
BLOCK_KEY = re.compile(r'^blocks\.(\d+)\.(.+)$')
#: What only a trained AdaptFormer model holds: its adapters.
ADAPTER_KEY = re.compile(r'(^|\.)adaptmlp\.')
#: The prefixes of a VideoMAE pre-training checkpoint's keys.
PRETRAIN_PREFIXES = ('encoder.', 'decoder.', 'encoder_to_decoder.')
#: The patch embedding: Conv3d (5-D) for video, Conv2d (4-D) for images.
PATCH_EMBED_KEY = 'patch_embed.proj.weight'
#: The modality a patch embedding's number of dimensions tells.
PATCH_MODALITIES = {5: 'video', 4: 'image'}
#: The patch embedding of mmaction2's and mmpretrain's own
#: ``VisionTransformer`` (mmcv's ``PatchEmbed``), as their model zoos save
#: it under ``backbone.``.
TOOLBOX_PATCH_EMBED_KEY = 'patch_embed.projection.weight'
#: A key of a Swin Transformer's stages, ``layers.N.blocks.M.`` or
#: ``layers.N.downsample.`` (the official Swin, mmaction2's Swin3D): not a
#: plain ViT, although these name their patch embedding ``patch_embed.proj``
#: as the official ViTs do.
SWIN_STAGE_KEY = re.compile(r'^layers\.\d+\.(blocks\.\d+|downsample)\.')
#: A key of a numbered stack of modules, ``<name>.<index>.<rest>``: the
#: official/timm ViTs' ``blocks.N`` (and MAE's ``decoder_blocks.N`` beside
#: them), another backbone's stages (mmpretrain's PoolFormer and RIFormer,
#: ``network.N``).
STACK_KEY = re.compile(r'^([A-Za-z_]\w*)\.\d+\.')


def is_mae_decoder_key(key: str) -> bool:
    """Whether ``key`` belongs to an MAE pre-training decoder
    (``decoder_*``, ``mask_token``)."""
    return key.startswith('decoder_') or key == 'mask_token'


@dataclass(frozen=True)
class OfficialViTLayout:
    """What the key names of official or timm ViT weights show.

    Attributes:
        pretrain (tuple[str]): The VideoMAE pre-training keys
            (:data:`PRETRAIN_PREFIXES`), in the weights' order.
        patch_embed (Any): The weights' :data:`PATCH_EMBED_KEY` tensor, or
            None.
        adapters (tuple[str]): The AdaptFormer adapter keys
            (:data:`ADAPTER_KEY`).
    """
    pretrain: Tuple[str, ...]
    patch_embed: Any
    adapters: Tuple[str, ...]

    @property
    def modality(self) -> Optional[str]:
        """``'video'`` for VideoMAE pre-training keys or a Conv3d patch
        embedding, ``'image'`` for a Conv2d one, else None."""
        if self.pretrain:
            return 'video'
        return PATCH_MODALITIES.get(
            len(getattr(self.patch_embed, 'shape', ())))


def official_vit_layout(weights: Mapping[str, Any]) -> OfficialViTLayout:
    """Read what the key names of ``weights`` show about their layout.

    Args:
        weights (Mapping): The weights (key -> tensor).

    Returns:
        OfficialViTLayout: Its pre-training keys, patch embedding and
        adapter keys.
    """
    return OfficialViTLayout(
        pretrain=tuple(k for k in weights if k.startswith(PRETRAIN_PREFIXES)),
        patch_embed=weights.get(PATCH_EMBED_KEY),
        adapters=tuple(k for k in weights if ADAPTER_KEY.search(k)))


#: Keys of the official VideoMAE/MAE/AdaptFormer and timm ViTs, which
#: mmaction2's and mmpretrain's ``VisionTransformer`` name otherwise
#: (``patch_embed.projection``, ``mlp.layers``/``ffn.layers``, ``layers.``).
_UNCONVERTED_KEYS = (PATCH_EMBED_KEY, PRETRAIN_PREFIXES[0] + PATCH_EMBED_KEY)


def unconverted_vit_layout(checkpoint: Any,
                           prefix: Optional[str] = None) -> Optional[str]:
    """The key that shows a file in the official/timm ViT layout.

    Such a file given to mmaction2's or mmpretrain's ``VisionTransformer``
    loads only the keys the layouts share (attention, norms): its patch
    embedding and MLPs keep their initialisation, with a warning that is
    easy to miss. A file of another backbone that names its patch
    embedding so too (:func:`other_backbone`) is not in that layout.

    Args:
        checkpoint (Any): What the file holds.
        prefix (str, optional): The prefix that selects the backbone.
            Defaults to None.

    Returns:
        str | None: The key (with ``prefix``), or None for another layout.
    """
    if not isinstance(checkpoint, dict):
        return None
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, dict):
        return None
    for key in _UNCONVERTED_KEYS:
        found = (prefix or '') + key
        if found in state_dict and not other_backbone(
                state_dict, found[:-len(PATCH_EMBED_KEY)]):
            return found
    return None


def other_backbone(state_dict: Mapping, root: str) -> bool:
    """Whether the weights under ``root`` are of another backbone than the
    official and timm ViTs, although it names its patch embedding
    ``patch_embed.proj`` as they do; no ``--type`` of the converter takes
    it.

    Such a backbone holds Swin's stages (:data:`SWIN_STAGE_KEY`: the
    official Swin, mmaction2's Swin3D), numbered stacks of modules none of
    which is ``blocks`` (:data:`STACK_KEY`: mmpretrain's PoolFormer and
    RIFormer, whose stages are ``network.N``), or blocks with attention
    beside blocks without (mmpretrain's HiViT: its first blocks are MLPs,
    and patch merging), where every block of those ViTs has attention.
    Weights of no stack (a file of the patch embedding alone) are not
    called another backbone: too little is known of them.

    Args:
        state_dict (Mapping): The weights.
        root (str): The prefix of the backbone's keys (``''``,
            ``'backbone.'``, ``'encoder.'``).

    Returns:
        bool: True for another backbone.
    """
    blocks, attention, stacks = set(), set(), set()
    for name in state_dict:
        if not isinstance(name, str) or not name.startswith(root):
            continue
        key = name[len(root):]
        if SWIN_STAGE_KEY.match(key):
            return True
        stack = STACK_KEY.match(key)
        if stack:
            stacks.add(stack.group(1))
        block = BLOCK_KEY.match(key)
        if block:
            blocks.add(block.group(1))
            if block.group(2).startswith('attn.'):
                attention.add(block.group(1))
    if stacks and not blocks:
        return True
    return bool(attention) and blocks != attention
