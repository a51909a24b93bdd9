# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a block whose undeclared ``branch`` would put the adapter under
the block's layer scale or drop path.

AdaptFormer (arXiv 2205.13535, eq. 2-3) adds ``s * AdaptMLP(x)`` beside
the whole feed-forward branch: the official code adds it after the
branch's drop path, and its blocks have no layer scale. Where a block
type declares no ``branch`` and its ``ffn`` adds no identity, the adapter
joins the ``ffn`` output, which is exact only if the block adds that output
to the residual unchanged. A block that also holds a layer scale
(PoolFormer's ``layer_scale_2 * mlp(...)``, EfficientFormer's
``ls2(mlp(...))``) or a drop path would scale or drop the adapter with
it: the adapter of a PoolFormer block would be multiplied by its ``1e-5``
initial layer scale and train nearly nothing.

The block's own parameters (``gamma_2``, ``layer_scale_2``) and its
direct children named ``LayerScale`` (mmcv's, mmpretrain's, timm's) count
as layer scales; its direct children with a ``drop_prob`` above 0 as drop
paths. Only what the block holds itself counts, not the modules inside
its norm, feed-forward network or attention: those act before the
``ffn`` output or on another branch. A declared ``branch`` is taken as
it is, so a block that adds the ``ffn`` output unchanged despite holding
one of them declares ``branch`` equal to ``ffn``.
"""
from typing import List

from torch import nn

from ...utils.config_error import ConfigError

__all__ = ['branch_scalers', 'check_undeclared_branch']


def _holds(child: nn.Module, inner: nn.Module) -> bool:
    return any(module is inner for module in child.modules())


def branch_scalers(block: nn.Module, norm: nn.Module, ffn: nn.Module,
                   dims: int) -> List[str]:
    """What ``block`` holds that its forward may apply to the output of
    ``ffn``: its per-channel or scalar parameters, its ``LayerScale``
    children and its drop paths (``drop_prob > 0``), besides ``norm`` and
    ``ffn`` and the children that hold them.

    Args:
        block (nn.Module): The block.
        norm (nn.Module): Its norm before the feed-forward network.
        ffn (nn.Module): Its feed-forward network.
        dims (int): Its width.

    Returns:
        list[str]: E.g. ``["layer scale 'layer_scale_2'", "drop path
        'drop_path' (drop_prob=0.1)"]``: the block's own parameters first,
        then its children, each in the order the block registered them.
    """
    found = [
        f'layer scale {name!r}'
        for name, param in block.named_parameters(recurse=False)
        if param.numel() in (1, dims)
    ]
    for name, child in block.named_children():
        if _holds(child, norm) or _holds(child, ffn):
            continue
        if type(child).__name__ == 'LayerScale':
            found.append(f'layer scale {name!r}')
        drop_prob = getattr(child, 'drop_prob', None)
        if isinstance(drop_prob, float) and drop_prob > 0:
            found.append(f'drop path {name!r} (drop_prob={drop_prob:g})')
    return found


def check_undeclared_branch(block: nn.Module,
                            spec: dict,
                            label: str,
                            norm: nn.Module,
                            ffn: nn.Module,
                            dims: int,
                            key: str = 'model.backbone.block_types') -> None:
    """Refuse to add the adapter to the output of ``ffn`` where ``block``
    may scale or drop that output (:func:`branch_scalers`).

    Args:
        block (nn.Module): The block, whose type declares no ``branch``
            and whose ``ffn`` adds no identity.
        spec (dict): Its ``norm`` and ``ffn`` declaration.
        label (str): Its name, for the message.
        norm (nn.Module): Its norm before the feed-forward network.
        ffn (nn.Module): Its feed-forward network.
        dims (int): Its width.
        key (str): The config key of the declarations, for the message.
            Defaults to ``'model.backbone.block_types'``.

    Raises:
        ConfigError: Naming the block, what may scale or drop the adapter
            and the ``branch`` to declare.
    """
    found = branch_scalers(block, norm, ffn, dims)
    if not found:
        return
    cls = type(block).__name__
    drops = [
        name for name, child in block.named_children()
        if 'drop_path' in name and not _holds(child, ffn)
    ]
    # A name guess, only for the example the message gives.
    branch = drops[-1] if drops else 'drop_path'
    raise ConfigError(
        f'Block {label!r} ({cls}) declares no branch, so its AdaptMLP '
        f"would join the output of {spec['ffn']!r}, but the block holds "
        f'{", ".join(found)}, which its forward may apply to that output, '
        'scaling or dropping the adapter with it; AdaptFormer adds '
        's * AdaptMLP(x) beside the whole feed-forward branch. Declare in '
        f'{key} the module whose output is that branch right before the '
        f"residual add, e.g. block_types=[dict(type='{cls}', "
        f"norm={spec['norm']!r}, "
        f"ffn={spec['ffn']!r}, branch={branch!r})], or branch="
        f"{spec['ffn']!r} if the block adds the output of {spec['ffn']!r} "
        'unchanged.')
