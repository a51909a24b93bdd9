# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Name the input sizes behind a position embedding of another length.

A video ViT (mmaction2's VideoMAE ``VisionTransformer``) holds one position
token per tubelet: ``(img_size // patch_size)**2 * (num_frames //
tubelet_size)``. When a checkpoint differs from the model in ``pos_embed``
alone, :func:`pos_embed_cause` says how many tokens each holds, the input
sizes the model is built for, and the converter command that rebuilds the
table for them, with the real numbers. A table of one frame's patches
(HiViT's, TimeSformer's) that its host does not resize is named as one of
another image size, without the converter, which takes video ViTs only.

The sizes are read from the model that every caller of
:func:`~mmadaptformer.utils.state_dict_check.check_state_dict` hands over
(``load_from``/``--resume``, ``tools/test.py``, ``--pretrained`` and
``init_cfg``, ``init_recognizer``, the adapter tools): the Conv3d patch
embedding's kernel is ``(tubelet_size, patch_size, patch_size)``, the host
keeps its ``grid_size`` (``img_size // patch_size`` per side), and the
number of frames follows from the model's own table. A module that does
not show them gets the same advice in words.
"""
import math
import os.path as osp
import shlex
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn

from .local_files import is_local

__all__ = [
    'VideoTokenGrid', 'video_token_grid', 'pos_embed_cause',
    'INPUT_SIZED_NAMES', 'input_sized_cause'
]

#: The converter that rebuilds a fixed position embedding.
CONVERTER = 'tools/model_converters/convert_official.py'

#: ``(num_frames, img_size)`` of the files users hold most: the
#: converter's defaults (every recipe here) and MMAction2's model-zoo
#: VideoMAE files. A file of one of them on a model that differs in both
#: frames and size is read as such too, where the single-setting readings
#: alone gave e.g. ``num_frames=392, img_size=32`` for an 8x224 file.
KNOWN_INPUTS = ((8, 224), (16, 224))


@dataclass(frozen=True)
class VideoTokenGrid:
    """The input a video ViT's position embedding is laid out for.

    Attributes:
        img_size (int): Frame height and width, a multiple of the patch
            size (the smallest ``img_size`` of the model's grid).
        num_frames (int): Frames per clip.
        patch_size (int): Spatial size of one patch.
        tubelet_size (int): Frames per tubelet.
    """
    img_size: int
    num_frames: int
    patch_size: int
    tubelet_size: int

    @property
    def tokens(self) -> int:
        """int: How many position tokens this input has."""
        return ((self.img_size // self.patch_size)**2 *
                (self.num_frames // self.tubelet_size))

    def describe(self) -> str:
        """``'num_frames=8, img_size=224 (patch size 16, tubelet size
        2)'``."""
        return (f'num_frames={self.num_frames}, img_size={self.img_size} '
                f'(patch size {self.patch_size}, tubelet size '
                f'{self.tubelet_size})')


def _owner(model: nn.Module, key: str) -> Optional[nn.Module]:
    """The module that holds the tensor of state-dict key ``key`` under
    its last name (``pos_embed``, ``absolute_pos_embed``); found by tensor
    identity, as a wrapper's state-dict keys and module paths differ."""
    tensor = model.state_dict(keep_vars=True).get(key)
    if not torch.is_tensor(tensor):
        return None
    name = key.rsplit('.', 1)[-1]
    for module in model.modules():
        if getattr(module, name, None) is tensor:
            return module
    return None


def _image_table_owner(model: nn.Module, key: str) -> Optional[str]:
    """The type name of the module that holds position embedding ``key``
    if it embeds patches of one frame (a Conv2d patch embedding, no
    Conv3d): an image host that does not resize its table when it loads
    (HiViT), or mmaction2's TimeSformer, whose table is per frame (its
    frames are in ``time_embed``). None for a video ViT, or where it is
    not known."""
    module = _owner(model, key)
    patch_embed = getattr(module, 'patch_embed', None)
    if not isinstance(patch_embed, nn.Module):
        return None
    convs = [
        type(m) for m in patch_embed.modules()
        if isinstance(m, nn.modules.conv._ConvNd)
    ]
    if nn.Conv2d in convs and nn.Conv3d not in convs:
        return type(module).__name__
    return None


def video_token_grid(model: nn.Module, key: str) -> Optional[VideoTokenGrid]:
    """What the position embedding ``key`` of ``model`` is built for.

    Args:
        model (nn.Module): The model the checkpoint is loaded into.
        key (str): The state-dict key of its position embedding, e.g.
            ``'backbone.pos_embed'``.

    Returns:
        VideoTokenGrid, optional: The sizes, or None if the module that
        holds ``key`` is no video ViT with a square ``grid_size`` and a
        Conv3d patch embedding whose table has one token per tubelet.
    """
    module = _owner(model, key)
    if module is None:
        return None
    projection = getattr(
        getattr(module, 'patch_embed', None), 'projection', None)
    grid = getattr(module, 'grid_size', None)
    if not isinstance(projection, nn.Conv3d) or not isinstance(
            grid, (tuple, list)) or len(set(grid)) != 1:
        return None
    tubelet, patch = projection.kernel_size[0], projection.kernel_size[-1]
    cells = grid[0]**2
    tokens = module.pos_embed.shape[-2]
    if tokens % cells:
        return None
    return VideoTokenGrid(
        img_size=grid[0] * patch,
        num_frames=tokens // cells * tubelet,
        patch_size=patch,
        tubelet_size=tubelet)


def _readings(tokens: int, own: VideoTokenGrid) -> List[VideoTokenGrid]:
    """The inputs of ``tokens`` position tokens with the model's patch and
    tubelet sizes (a checkpoint that differs in ``pos_embed`` alone has the
    model's patch embedding): the model's frame size with other frames,
    and its frames with another frame size. Both are given where both
    fit: a file of 4 frames of 64 px (32 tokens) on a model of 4 frames of
    32 px is as well read as 16 frames of 32 px, and naming only the
    latter sent the user to the wrong setting. Then the
    :data:`KNOWN_INPUTS` whose count it is."""
    found = []
    cells = (own.img_size // own.patch_size)**2
    if tokens % cells == 0:
        found.append(
            VideoTokenGrid(own.img_size, tokens // cells * own.tubelet_size,
                           own.patch_size, own.tubelet_size))
    steps = own.num_frames // own.tubelet_size
    side = math.isqrt(tokens // steps) if tokens % steps == 0 else 0
    if side and side * side * steps == tokens:
        found.append(
            VideoTokenGrid(side * own.patch_size, own.num_frames,
                           own.patch_size, own.tubelet_size))
    for frames, size in KNOWN_INPUTS:
        known = VideoTokenGrid(size, frames, own.patch_size, own.tubelet_size)
        if known.tokens == tokens and known not in found:
            found.append(known)
    return found


def pos_embed_cause(model: nn.Module,
                    key: str,
                    ckpt_shape: Sequence[int],
                    own_shape: Sequence[int],
                    with_head: bool = False,
                    with_adapters: bool = False,
                    source_file: Optional[str] = None) -> str:
    """Why a checkpoint that differs in its position embedding alone does
    not fit, and what makes it fit: the model built for the checkpoint's
    input, or the converter command that rebuilds the table for the
    model's.

    Args:
        model (nn.Module): The model it is loaded into.
        key (str): The state-dict key of the position embedding.
        ckpt_shape (Sequence[int]): Its shape in the checkpoint.
        own_shape (Sequence[int]): Its shape in the model.
        with_head (bool): The checkpoint holds a head, which the converter
            does not keep. Defaults to False.
        with_adapters (bool): The checkpoint holds the adapters or prompts
            this package adds (a model trained here), which the converter
            refuses. Defaults to False.
        source_file (str, optional): The checkpoint's file, which the
            converter command names as its source, with a file beside it
            as its destination; None (or an address) names them ``SRC``
            and ``DST``. Defaults to None.

    Returns:
        str: A clause for the refusal, without a final full stop.
    """
    theirs, ours = ckpt_shape[-2], own_shape[-2]
    image = _image_table_owner(model, key)
    if image is not None:
        # Not a video ViT's table: no frames to count, and the converter
        # rebuilds only those.
        return (f'only the position embedding differs in shape: {key} '
                f'holds {theirs} position tokens in the checkpoint and '
                f'{ours} in the model, and {image} does not resize it when '
                'it loads: the file was saved for another image size. '
                'Build the model with the img_size ' +
                ('it was trained on'
                 if with_adapters else 'the file was saved for'))
    grid = video_token_grid(model, key)
    readings = [] if grid is None else _readings(theirs, grid)
    cause = (f'only the position embedding differs in shape: {key} holds '
             f'{theirs} position tokens in the checkpoint')
    if readings:
        cause += ' (' + ' or '.join(
            f'num_frames={r.num_frames}, img_size={r.img_size}'
            for r in readings) + ' with the same patch and tubelet sizes)'
    if grid is None:
        cause += (f' and {ours} in the model. A video ViT has (img_size / '
                  'patch size)^2 x (num_frames / tubelet size) of them, so '
                  'the file was made for another frame size or number of '
                  'frames')
    else:
        cause += (f' and {ours} in the model, which is built for '
                  f'{grid.describe()}')
    if with_adapters:
        return cause + (
            ". It holds this package's trained adapters, which "
            f'{CONVERTER} does not take: build the model for the input it '
            'was trained on' +
            ('' if readings else " (the backbone's num_frames and img_size)"))
    notes = (
        'it detects the MMAction2, VideoMAE and AdaptFormer layouts; '
        'a learned position embedding of another length is refused' +
        ('; it keeps the backbone alone, not the head' if with_head else ''))
    src, dst = _converter_files(source_file, grid)
    if grid is None:
        return cause + (
            f'. Rebuild it for this model with python {CONVERTER} {src} '
            f'{dst}, '
            "passing as --num-frames and --img-size the backbone's "
            f"num_frames and img_size from the model's config ({notes})")
    command = (f'python {CONVERTER} {src} {dst} --num-frames '
               f'{grid.num_frames} --img-size {grid.img_size} ({notes})')
    if readings:
        return (cause + ". Build the model for the checkpoint's input, or "
                f'rebuild the table for this model: {command}')
    return cause + f'. Rebuild the table for this model: {command}'


def _converter_files(source_file: Optional[str],
                     grid: Optional[VideoTokenGrid]) -> Tuple[str, str]:
    """The source and destination of the converter command, quoted for a
    shell: the local checkpoint and a file beside it named for the input
    the table is rebuilt for; ``SRC`` and ``DST`` where the file is not
    known or not local (the converter reads local files)."""
    if not isinstance(source_file, str) or not is_local(source_file):
        return 'SRC', 'DST'
    root, ext = osp.splitext(source_file)
    tag = ('converted'
           if grid is None else f'{grid.num_frames}frames_{grid.img_size}px')
    return shlex.quote(source_file), shlex.quote(
        f'{root}_{tag}{ext or ".pth"}')


#: The last names of the tensors whose shapes follow the input size (the
#: image size, the attention window, the number of frames) in the hosts
#: the package wraps: position embeddings (TNT's ``patch_pos``, UniFormerV2's
#: ``positional_embedding``, TimeSformer's ``time_embed``), relative position
#: tables and their indices (Swin, BEiT, MViT, SAM, TinyViT, LeViT) and
#: rotary tables (EVA-02).
INPUT_SIZED_NAMES = frozenset({
    'pos_embed', 'absolute_pos_embed', 'patch_pos', 'positional_embedding',
    'time_embed', 'relative_position_bias_table', 'relative_position_index',
    'relative_coords_table', 'rel_pos_h', 'rel_pos_w', 'rel_pos_t',
    'attention_biases', 'attention_bias_idxs', 'freqs_cos', 'freqs_sin'
})


def input_sized_cause(keys: Sequence[str]) -> Optional[str]:
    """Why a checkpoint differs from the model where every tensor of
    another shape (``keys``) is one whose shape follows the input size
    (:data:`INPUT_SIZED_NAMES`), and what to do; None otherwise, or for
    no keys.

    Such a file is of the same architecture, saved for another image size,
    window size or number of frames (a relative position table's number of
    heads is in its shape too), which a refusal named "another
    architecture (other depth, embed dims or number of classes)".

    Args:
        keys (Sequence[str]): The state-dict keys of other shapes.

    Returns:
        str, optional: A clause for the refusal, without a final full
        stop.
    """
    if not keys or any(
            key.rsplit('.', 1)[-1] not in INPUT_SIZED_NAMES for key in keys):
        return None
    return ('only tensors whose shapes follow the input size differ '
            '(position embeddings, relative position or rotary tables): it '
            'was probably saved for another img_size, window_size or '
            'num_frames (or, for relative position tables, num_heads). Build '
            'the model with the sizes the file was saved for, or resize '
            'those tensors to the model\'s')
