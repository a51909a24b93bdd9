# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse, before the model changes, a block that cannot take an AdaptMLP.

:func:`~mmadaptformer.models.adapters.injection.inject_adapters` plans
every selected block first and calls these checks on each; the first that
fails raises a :class:`~mmadaptformer.utils.ConfigError` naming the block,
what is wrong and what to configure instead, and no adapter is added.

* :func:`check_channels_last`: a declared block whose ``norm`` is a
  channels-first norm (a ``GroupNorm``, ``BatchNorm2d``/``3d``,
  ``InstanceNorm2d``/``3d`` or a ``LayerNorm2d`` such as mmpretrain's)
  runs on feature maps ``(B, C, H, W)``, as PoolFormer's (GroupNorm) and
  ConvNeXt's (LayerNorm2d) blocks do: its residual stream is such a map,
  also where the block calls the norm on a channels-last view of it
  (ConvNeXt's with ``linear_pw_conv=True``). An AdaptMLP adds Linear layers
  over the last dim, and their output to that stream, so it needs the
  channels last; on a map the last dim is a spatial axis, and where a map's
  width equals its channels, no shape tells it from a channels-last
  ``(B, H, W, C)`` map (SAM's ViT), and the adapter ran on the wrong axis
  silently.
* :func:`check_width_kept`: a block whose feed-forward network changes the
  width (MViT's block before a width change with
  ``dim_mul_in_attention=False``) has no ``x + h`` to adapt.
* :func:`check_no_inline_drop_path`: a reversible block (RevViT) that
  builds its drop path inline on every call would drop the adapter with
  the feed-forward network.

The refusal of a block that declares no ``branch`` and holds a layer
scale or a drop path is :func:`.branch_scaling.check_undeclared_branch`.
"""
from typing import List, Optional, Sequence, Tuple

from torch import nn

from ...utils.config_error import ConfigError
from .block_wiring import changes_width, ffn_out_dims, inline_drop_prob

__all__ = [
    'CHANNELS_FIRST_NORMS', 'channels_first_norm', 'check_channels_last',
    'check_width_kept', 'check_no_inline_drop_path'
]

#: The torch norms that blocks apply to channels-first maps: the 2D and 3D
#: batch and instance norms take only maps, and ``GroupNorm`` is taken as
#: a norm of maps (PoolFormer's), although it also accepts flat ``(N, C)``
#: input, so a block that applies it to flattened tokens is refused too.
#: ``BatchNorm1d``, ``SyncBatchNorm`` and ``LayerNorm`` are not among them:
#: on flattened tokens ``(B * N, C)`` (LeViT's ``LinearBatchNorm``) dim 1 is
#: the last one, so their class says nothing about the layout.
CHANNELS_FIRST_NORMS: Tuple[type, ...] = (nn.GroupNorm, nn.BatchNorm2d,
                                          nn.BatchNorm3d, nn.InstanceNorm2d,
                                          nn.InstanceNorm3d)

#: The ends of the class names of other libraries' norms of 2D and 3D maps
#: (mmpretrain's, timm's, mmdet's ``LayerNorm2d``; mmpretrain's sparse
#: ``SparseLayerNorm2D``), which no package here can list by type.
_MAP_NORM_SUFFIXES = ('norm2d', 'norm3d')

Blocks = Sequence[Tuple[str, nn.Module, dict]]


def channels_first_norm(norm: nn.Module) -> Optional[str]:
    """The class of ``norm`` or of its base that normalises channels-first
    maps, or None.

    Args:
        norm (nn.Module): A block's norm before its feed-forward network.

    Returns:
        str, optional: E.g. ``'GroupNorm'`` or ``'LayerNorm2d'``.
    """
    for cls in type(norm).__mro__:
        if cls in CHANNELS_FIRST_NORMS or \
                cls.__name__.lower().endswith(_MAP_NORM_SUFFIXES):
            return cls.__name__
    return None


def check_channels_last(block: nn.Module, spec: dict, label: str,
                        norm: nn.Module, key: str) -> None:
    """Refuse a declared block whose ``norm`` is a channels-first norm.

    Args:
        block (nn.Module): The block, whose type ``key`` declares.
        spec (dict): Its ``norm`` and ``ffn`` declaration.
        label (str): Its name, for the message.
        norm (nn.Module): Its norm before the feed-forward network.
        key (str): The config key of the declarations, e.g.
            ``'model.backbone.block_types'``.

    Raises:
        ConfigError: Naming ``key``, the block type, the norm's class and
            why the block cannot take an AdaptMLP.
    """
    found = channels_first_norm(norm)
    if found is None:
        return
    cls = type(block).__name__
    norm_cls = type(norm).__name__
    base = '' if found == norm_cls else f', a {found}'
    layout = '(B, C, T, H, W)' if found.lower().endswith('3d') else \
        '(B, C, H, W)'
    # A torch norm of maps takes only channels-first input; another
    # library's LayerNorm2d may also be called on a channels-last view.
    torch_norm = found in (t.__name__ for t in CHANNELS_FIRST_NORMS)
    view = '' if torch_norm else (
        ', even where the block calls the norm on a channels-last view of '
        "it (as ConvNeXt's does with linear_pw_conv=True)")
    raise ConfigError(
        f"{key} declares {cls} with norm={spec['norm']!r}, but block "
        f'{label!r} ({cls}) cannot be adapted: that norm is a {norm_cls}'
        f'{base}, which normalises channels-first feature maps '
        f'{layout}, so the block runs on such maps. Its residual stream '
        f'(the x of x + h) is such a map{view}. An AdaptMLP adds Linear '
        'layers over the last dim, and their output to that stream, so it '
        'needs the channels last: on a channels-first map the last dim is '
        'a spatial axis, not the channels (and where a map is as wide as '
        'it has channels, no shape tells, so it would run silently on the '
        'wrong axis). '
        'AdaptFormer adapts blocks on tokens with their channels last '
        "(B, N, C); a convolutional block (PoolFormer's, ConvNeXt's) "
        f'cannot take it. Remove {cls} from {key}; the README\'s '
        '"Writing your own config" lists the backbones supported as they '
        'are.')


def check_width_kept(block: nn.Module, spec: dict, label: str, ffn: nn.Module,
                     dims: int, blocks: Blocks, layers_key: str) -> None:
    """Refuse a block whose feed-forward network changes the width.

    Args:
        block (nn.Module): The block.
        spec (dict): Its wiring.
        label (str): Its name, for the message.
        ffn (nn.Module): Its feed-forward network.
        dims (int): Its width.
        blocks (Sequence[tuple]): Every ``(name, block, spec)`` found, to
            name the indices that keep their width.
        layers_key (str): The config key of ``layers``.

    Raises:
        ConfigError: Naming the block, both widths and the ``layers`` to
            adapt instead.
    """
    out_dims = ffn_out_dims(ffn)
    if out_dims in (None, dims):
        return
    keep = _indices(blocks, lambda b, s: not changes_width(b, s))
    raise ConfigError(
        f'Block {label!r} ({type(block).__name__}) cannot be '
        f"adapted: its feed-forward network {spec['ffn']!r} maps "
        f'{dims} to {out_dims} channels, so its branch has no residual '
        f'stream of width {dims} to add an AdaptMLP to (e.g. MViT with '
        'dim_mul_in_attention=False). Leave the blocks that change the '
        f'width out, e.g. {layers_key}={keep}.')


def check_no_inline_drop_path(block: nn.Module, spec: dict, label: str,
                              blocks: Blocks, layers_key: str) -> None:
    """Refuse a block that builds a drop path inline on its feed-forward
    branch (``inline_drop_path``) with a drop probability above 0.

    Args:
        block (nn.Module): The block.
        spec (dict): Its wiring.
        label (str): Its name, for the message.
        blocks (Sequence[tuple]): Every ``(name, block, spec)`` found, to
            name the indices without drop path.
        layers_key (str): The config key of ``layers``.

    Raises:
        ConfigError: Naming the block, its drop probability and what to
            configure instead.
    """
    drop_prob = inline_drop_prob(block, spec)
    if drop_prob <= 0:
        return
    keep = _indices(blocks, lambda b, s: inline_drop_prob(b, s) == 0)
    raise ConfigError(
        f'Block {label!r} ({type(block).__name__}) cannot be '
        f'adapted: its forward applies drop path (drop_prob='
        f'{drop_prob:g}) to the output of {spec["ffn"]!r} with a '
        'DropPath it builds on every call, not a submodule, so the '
        'AdaptMLP would be dropped with the feed-forward network '
        'instead of running beside it. Build the backbone with '
        'drop_path_rate=0' + (f', or adapt only the blocks without drop path, '
                              f'{layers_key}={keep}.' if keep else '.'))


def _indices(blocks: Blocks, keep) -> List[int]:
    return [
        i for i, (_, block, spec) in enumerate(blocks) if keep(block, spec)
    ]
