# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What every source format shares: the format names, the target
toolboxes' module names, the result and error types."""
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import torch
from torch import Tensor

from ...utils.model_keys import BACKBONE_PREFIX  # noqa: F401 (re-exported)

#: The official checkpoint layouts, whose keys :func:`convert_state_dict`
#: renames and reshapes.
SOURCE_TYPES = ('adaptformer-video', 'adaptformer-image', 'videomae', 'mae')
#: MMAction2's own layout (its model zoo's VideoMAE ``Recognizer3D`` files,
#: ``backbone.*`` of its ``VisionTransformer`` and a ``cls_head``): kept as
#: it is, the backbone alone, with the position table rebuilt for the
#: target's input size and frames.
MMACTION2_TYPE = 'mmaction2'
#: Every type :func:`convert_state_dict` takes.
CONVERTIBLE_TYPES = SOURCE_TYPES + (MMACTION2_TYPE, )

#: What to do with a checkpoint's final per-token ``norm``: ``'keep'`` maps
#: it to the backbone's final norm (mmaction2 ``norm`` for
#: ``use_mean_pooling=False``, mmpretrain ``ln1`` for ``final_norm=True``);
#: ``'pooled'`` drops it, as the official recipes do before mean pooling.
FINAL_NORM_MODES = ('keep', 'pooled')

#: ``BatchNorm1d(affine=False, eps=1e-6)`` of the official head and of
#: :class:`~mmadaptformer.models.heads.BNLinearHead`.
HEAD_BN_EPS = 1e-6

#: Input frames whose ``pos_embed`` a converted video checkpoint gets by
#: default: every recipe here and the official ``main_video.py`` (not
#: mmaction2's 16).
DEFAULT_NUM_FRAMES = 8
#: Input size whose ``pos_embed`` a converted video checkpoint gets by
#: default.
DEFAULT_IMG_SIZE = 224

#: Source formats with a video (Conv3d) patch embedding.
VIDEO_TYPES = ('adaptformer-video', 'videomae')
#: Source formats of pre-training checkpoints (backbone only).
PRETRAIN_TYPES = ('videomae', 'mae')


@dataclass(frozen=True)
class ConversionTarget:
    """Names of one target toolbox's modules: where the converted keys
    of a block, its norms and MLP, the final norms and the head go."""
    name: str
    block: str
    norm1: str
    norm2: str
    fc1: str
    fc2: str
    final_norm: str
    pooled_norm: str
    head_prefix: str
    head_fc: str
    patch_dims: int


MMACTION_TARGET = ConversionTarget(
    name='mmaction2 VisionTransformer (VideoMAE)',
    block='blocks',
    norm1='norm1',
    norm2='norm2',
    fc1='mlp.layers.0.0',
    fc2='mlp.layers.1',
    final_norm='norm',
    pooled_norm='fc_norm',
    head_prefix='cls_head.',
    head_fc='fc_cls',
    patch_dims=5)
MMPRETRAIN_TARGET = ConversionTarget(
    name='mmpretrain VisionTransformer',
    block='layers',
    norm1='ln1',
    norm2='ln2',
    fc1='ffn.layers.0.0',
    fc2='ffn.layers.1',
    final_norm='ln1',
    pooled_norm='ln2',
    head_prefix='head.',
    head_fc='fc',
    patch_dims=4)


class ConversionError(ValueError):
    """A checkpoint cannot be converted (unknown layout, bad shapes or
    unmappable keys)."""


class SourceTypeMismatchError(ConversionError):
    """A ``source_type`` that the checkpoint's key names contradict.

    Args:
        source_type (str): The type asked for.
        detected (str): The type the key names say.
        reason (str): What the checkpoint holds that ``source_type`` does
            not fit, as a sentence.
    """

    def __init__(self, source_type: str, detected: str, reason: str) -> None:
        self.source_type = source_type
        self.detected = detected
        self.reason = reason
        super().__init__(
            f'{reason} Its key names say it is {detected!r}, not '
            f"{source_type!r}: pass source_type={detected!r}, or 'auto' to "
            'detect it.')


@dataclass
class ConversionResult:
    """The converted state dict and what happened to every source key.

    Attributes:
        state_dict (OrderedDict): The converted state dict.
        source_type (str): One of :data:`SOURCE_TYPES`.
        dropped (dict): Source key -> why it was left out on purpose.
        added (dict): Target key -> why it was written although the source
            has no such tensor.
        unmapped (list): Source keys that could not be mapped.
        missing (list): Source keys that a block lacks although the other
            blocks hold them (see :meth:`KeyMapper.block_gaps`): the
            converted state dict lacks them too, and the model refuses it.
        notes (list): Things the user must know to load the result, such as
            the adapter settings it needs.
    """
    state_dict: 'OrderedDict[str, Tensor]'
    source_type: str
    dropped: Dict[str, str] = field(default_factory=dict)
    added: Dict[str, str] = field(default_factory=dict)
    unmapped: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)


def sinusoid_encoding(num_positions: int, embed_dims: int) -> Tensor:
    """The fixed sine-cosine position table of VideoMAE.

    Computed in float64 as mmaction2's ``get_sinusoid_encoding`` does, so
    the result equals the buffer a fresh mmaction2 ``VisionTransformer``
    registers.

    Args:
        num_positions (int): Number of tokens.
        embed_dims (int): Embedding dimension.

    Returns:
        Tensor: float32 table of shape ``(1, num_positions, embed_dims)``.
    """
    exponent = torch.arange(embed_dims, dtype=torch.float64)
    exponent = (exponent - exponent % 2) / embed_dims
    inv_freq = torch.pow(10000, -exponent).view(1, -1)
    table = torch.arange(num_positions).view(-1, 1) * inv_freq
    table[:, 0::2].sin_()
    table[:, 1::2].cos_()
    return table.to(torch.float32).unsqueeze(0)


def shape_of(tensor: Tensor) -> Tuple[int, ...]:
    """``tuple(tensor.shape)``, for messages."""
    return tuple(tensor.shape)


def video_tokens(embed: Tensor, img_size: int, num_frames: int,
                 key: str) -> int:
    """The tokens of mmaction2's ``VisionTransformer`` for an input size and
    frames, with the tubelet and patch sizes of its patch embedding.

    Args:
        embed (Tensor): The Conv3d patch embedding weight,
            ``(dims, channels, tubelet, patch, patch)``.
        img_size (int): Input size.
        num_frames (int): Input frames.
        key (str): Where the checkpoint holds ``embed``, for the error.

    Returns:
        int: ``(img_size // patch)**2 * (num_frames // tubelet)``.

    Raises:
        ConversionError: A size that is no multiple of the patch or
            tubelet size.
    """
    tubelet, patch = embed.shape[2], embed.shape[-1]
    if img_size % patch or num_frames % tubelet:
        raise ConversionError(
            f'img_size={img_size} and num_frames={num_frames} must be '
            f'multiples of the patch size {patch} and tubelet size {tubelet} '
            f'read from {key!r} '
            f'{shape_of(embed)}.')
    return (img_size // patch)**2 * (num_frames // tubelet)
