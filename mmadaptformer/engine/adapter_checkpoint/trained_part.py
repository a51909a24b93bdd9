# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The keys of what the model trains beyond its host and head, under the
name this package exported them by.

The answer is :func:`mmadaptformer.utils.trained_part_fit.added_part_keys`
(and :func:`~mmadaptformer.utils.trained_part_fit.trained_part_name` for
what it is called), which every caller asks directly; this module only
keeps ``mmadaptformer.engine.adapter_checkpoint.model_trained_part_keys``
importable.
"""
from typing import List, Tuple

from torch import nn

from mmadaptformer.utils.trained_part_fit import (added_part_keys,
                                                  trained_part_name)

__all__ = ['model_trained_part_keys']


def model_trained_part_keys(model: nn.Module) -> Tuple[List[str], str]:
    """``(added_part_keys(model), trained_part_name(model))``.

    Args:
        model (nn.Module): The model.

    Returns:
        tuple[list[str], str]: The state-dict keys of its adapters or
        prompts, and what they are called (``'adapter'``, ``'prompt'``).
    """
    return added_part_keys(model), trained_part_name(model)
