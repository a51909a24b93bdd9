# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MViT's MaskFeat checkpoints, read as mmaction2's MViT reads them.

With ``pretrained_type='maskfeat'`` mmaction2's
:meth:`~mmaction.models.MViT.init_weights` loads its ``Pretrained`` file
itself: the keys under ``backbone.``, each relative-position table
(``attn.rel_pos_*``) of another length linearly resized to the model's.
:func:`maskfeat_state_dict` gives the frozen-host wrapper that state dict,
which it checks against the host before loading it (the host's own loading
is non-strict and would keep what does not fit at random values).
"""
import logging
from typing import Dict, Mapping, Optional

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import nn

from ...utils.model_keys import BACKBONE_PREFIX
from ...utils.pretrained_init import read_init_checkpoint

__all__ = ['MASKFEAT', 'maskfeat_state_dict', 'resize_rel_pos']

#: MViT's ``pretrained_type`` of MaskFeat checkpoints.
MASKFEAT = 'maskfeat'


def resize_rel_pos(table: torch.Tensor, length: int) -> torch.Tensor:
    """A relative-position table ``(L, C)`` linearly resized to
    ``(length, C)``, as mmaction2's MViT resizes MaskFeat's."""
    resized = F.interpolate(
        table.t().unsqueeze(0).float(), size=length, mode='linear')
    return resized.view(table.shape[1], length).t().to(table.dtype)


def maskfeat_state_dict(
        host: nn.Module,
        init_cfg: Mapping) -> Optional[Dict[str, torch.Tensor]]:
    """The state dict a MaskFeat MViT's own ``init_weights()`` would load.

    Args:
        host (nn.Module): The MViT.
        init_cfg (Mapping): Its ``Pretrained`` entry: ``checkpoint``, and
            ``prefix`` (default ``'backbone.'``) and ``map_location``.

    Returns:
        dict | None: The host's keys with relative-position tables resized
        to the model's lengths; None if the host does not read MaskFeat
        checkpoints (``pretrained_type`` is not ``'maskfeat'``).
    """
    if getattr(host, 'pretrained_type', None) != MASKFEAT:
        return None
    path = init_cfg['checkpoint']
    state_dict = read_init_checkpoint(
        path,
        init_cfg.get('prefix') or BACKBONE_PREFIX,
        map_location=init_cfg.get('map_location', 'cpu'))
    own = host.state_dict()
    resized = {}
    for key, table in state_dict.items():
        target = own.get(key)
        if 'attn.rel_pos' not in key or target is None or \
                table.dim() != 2 or target.dim() != 2 or \
                table.shape[1] != target.shape[1] or \
                table.shape[0] == target.shape[0]:
            # A table of another width stays as it is: the check names it.
            resized[key] = table
            continue
        resized[key] = resize_rel_pos(table, target.shape[0])
        print_log(
            f'{path}: {key} resized from {tuple(table.shape)} to '
            f'{tuple(target.shape)} (MaskFeat relative positions).',
            logger='current',
            level=logging.INFO)
    return resized
