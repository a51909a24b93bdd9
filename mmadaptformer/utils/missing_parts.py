# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Name a part of the blocks that a checkpoint holds in none of them.

A file that lacks one tensor of every block that has it, and nothing else,
is neither damaged nor of a smaller architecture: the model was built with
a part that the file was saved without. mmpretrain's CAE fine-tuning config
turns on relative position bias (``use_rel_pos_bias=True``) for files
pre-trained without it, and a HiViT built with ``rpe=True`` takes MAE's
HiViT files, pre-trained with ``rpe=False``: every block's
``relative_position_bias_table`` is missing, and would keep its random
initialisation.
"""
import re
from typing import Dict, List, Optional, Set

from torch import nn

from .model_keys import block_keys

__all__ = ['missing_part_cause']

_INDEX = re.compile(r'(?<=\.)\d+(?=\.)')


def _pattern(key: str) -> str:
    """The key with its block numbers as ``N`` (``layers.N.attn.x``)."""
    return _INDEX.sub('N', key)


def missing_part_cause(model: nn.Module, missing: List[str]) -> Optional[str]:
    """Why a file lacks ``missing``, if they are one part of the blocks.

    Args:
        model (nn.Module): The model (or backbone) being loaded.
        missing (list[str]): The keys the file lacks, as in
            ``model.state_dict()``; the file has no other difference.

    Returns:
        str | None: The cause, naming the part and the setting that adds
        it; None unless every missing key is in the blocks and, for each
        of them, the file lacks that tensor in every block that has it
        (two blocks at least).
    """
    blocks, lacks = block_keys(model), set(missing)
    if not lacks or not lacks <= blocks:
        return None
    parts: Dict[str, Set[str]] = {}
    for key in blocks:
        parts.setdefault(_pattern(key), set()).add(key)
    lacking = sorted({_pattern(key) for key in lacks})
    if any(
            len(parts[part]) < 2 or not parts[part] <= lacks
            for part in lacking):
        return None
    named = ', '.join(lacking)
    return (f'it holds no {named} of any block (the model\'s blocks have '
            f'{len(missing)} such tensors): the model is built with a part '
            'that the file was saved without, e.g. relative position bias '
            '(use_rel_pos_bias=True, rpe=True) for a file pre-trained '
            'without it (CAE, MAE on HiViT). Loaded, that part would keep '
            'its random initialisation, and a frozen backbone would keep '
            'it for good. Build the backbone as the file was saved (e.g. '
            'use_rel_pos_bias=False, rpe=False)')
