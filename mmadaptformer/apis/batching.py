# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which transformed inputs can share a forward, and how many a call may
take at once."""
from collections import OrderedDict
from typing import Dict, List, Sequence

import torch
from torch import nn

__all__ = ['check_batch_size', 'same_shape_runs', 'forward_runs']


def check_batch_size(batch_size: object) -> None:
    """Refuse a ``batch_size`` (inputs per forward) that is not an int >= 1,
    before any input is read: ``range()`` would skip every input for one
    below 1 (and fail for 0), and a bool is no count.

    Raises:
        ValueError: Naming the value.
    """
    if isinstance(batch_size,
                  bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f'batch_size={batch_size!r}: expected an int >= 1, '
                         'the number of inputs per forward.')


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


def forward_runs(model: nn.Module, data: Sequence[dict]) -> List[List[int]]:
    """:func:`same_shape_runs`, or one input per run where ``model`` tests
    one input at a time.

    mmaction2's ``Recognizer3D`` with ``test_cfg.max_testing_views`` runs
    an input's views through the backbone that many at a time and takes a
    batch of one input only (``AssertionError: max_testing_views is only
    compatible with batch_size == 1``). Its inputs are forwarded one by
    one, which is what the setting asks for (at most that many views per
    backbone call) and gives the scores of batch size 1.

    Args:
        model (nn.Module): The model that tests them.
        data (Sequence[dict]): Outputs of a test pipeline.

    Returns:
        list[list[int]]: The indices of each forward.
    """
    runs = same_shape_runs(data)
    test_cfg = getattr(model, 'test_cfg', None)
    if not isinstance(test_cfg, dict) or not test_cfg.get('max_testing_views'):
        return runs
    from mmaction.models.recognizers import Recognizer3D
    if not isinstance(model, Recognizer3D):
        return runs  # Recognizer2D splits the views of a whole batch
    return [[index] for run in runs for index in run]
