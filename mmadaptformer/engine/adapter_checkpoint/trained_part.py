# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The keys of what the model's frozen-host wrappers train.

Whether a checkpoint holds any of them is
:func:`mmadaptformer.utils.trained_part_fit.check_holds_trained_part`'s
question, asked where every evaluation load passes.
"""
from typing import List, Tuple

from torch import nn

from mmadaptformer.models.backbones.base_wrapper import FrozenHostWrapper
from mmadaptformer.models.backbones.trained_part_check import trained_part_keys

__all__ = ['model_trained_part_keys']


def model_trained_part_keys(model: nn.Module) -> Tuple[List[str], str]:
    """The state-dict keys of what the model's frozen-host wrappers train
    (adapters, prompts: :func:`~mmadaptformer.models.backbones.
    trained_part_check.trained_part_keys` of each), and what that is
    called (``'adapter'``, ``'prompt'``)."""
    state = model.state_dict()
    keys, part = [], 'adapter'
    for name, module in model.named_modules():
        if isinstance(module, FrozenHostWrapper):
            keys += trained_part_keys(module, state,
                                      f'{name}.' if name else '')
            part = module.trained_part
    return keys, part
