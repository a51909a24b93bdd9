# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which transformed inputs can share a forward."""
from collections import OrderedDict
from typing import Dict, List, Sequence

import torch

__all__ = ['same_shape_runs']


def same_shape_runs(data: Sequence[dict]) -> List[List[int]]:
    """Indices of transformed inputs, grouped by the shape of their
    ``inputs``, in order of first appearance.

    The toolboxes' data preprocessors pad a batch of inputs of different
    sizes to the largest (``stack_batch``), which changes the scores of the
    smaller ones: a test pipeline without a resize (e.g. mmpretrain's
    ``LoadImageFromFile`` + ``PackInputs``) would give an input other scores
    in another batch. Each group forwards on its own instead.

    Args:
        data (Sequence[dict]): Outputs of a test pipeline.

    Returns:
        list[list[int]]: One list of indices per shape.
    """
    groups: Dict[tuple, List[int]] = OrderedDict()
    for index, item in enumerate(data):
        inputs = item.get('inputs') if isinstance(item, dict) else None
        shape = tuple(inputs.shape) if torch.is_tensor(inputs) else None
        groups.setdefault(shape, []).append(index)
    return list(groups.values())
