# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Notice ``extra_trainable`` expressions that train the whole backbone.

``extra_trainable=['backbone']`` of a trainable plan (meant as "the
backbone's final norm", or copied from a recipe's list) matches every
backbone key: the run was full fine-tuning, and only the
trainable-parameter table's 100% said so. What applies the plan (the
engine's ``AdapterHook``) is named in the warning only as its caller gives
it (``owner``): this layer knows no hook.
"""
import re
from typing import Optional, Sequence

from torch import nn

from ...utils.model_keys import BACKBONE_PREFIX
from .trainable import TrainablePlan

__all__ = ['whole_backbone_extras']


def whole_backbone_extras(model: nn.Module,
                          plan: TrainablePlan,
                          extra_trainable: Sequence[str],
                          owner: Optional[str] = None) -> Optional[str]:
    """The warning for ``extra_trainable`` expressions that leave no
    backbone parameter frozen, or None.

    Args:
        model (nn.Module): The model the plan was made for (unwrapped).
        plan (TrainablePlan): The plan made with ``extra_trainable``.
        extra_trainable (Sequence[str]): The expressions.
        owner (str, optional): What takes ``extra_trainable`` and applies
            the plan, as a config names it (``'AdapterHook'``): the
            warning names it, and says to drop it to fine-tune the whole
            model. Defaults to None.

    Returns:
        str, optional: One line naming the expressions that match backbone
        parameters, how many of the backbone's own parameters (the
        adapters' left out) train, and what to do; None when some backbone
        parameter stays frozen, or when the expressions train none of
        them.
    """
    if isinstance(extra_trainable, str):
        extra_trainable = [extra_trainable]
    adapters = set(plan.groups.get('adapters', ()))
    backbone = [
        key for key, value in model.state_dict(keep_vars=True).items()
        if key.startswith(BACKBONE_PREFIX) and key not in adapters
        and isinstance(value, nn.Parameter)
    ]
    trainable = set(plan.trainable_keys)
    extras = set(plan.groups.get('other', ()))
    if not backbone or not extras.intersection(backbone) or any(
            key not in trainable for key in backbone):
        return None
    reaching = [
        pattern for pattern in extra_trainable if any(
            re.search(pattern, key) for key in backbone)
    ]
    subject = f'{owner} ' if owner else ''
    drop = f'drop the {owner} and ' if owner else ''
    return (f'{subject}extra_trainable={reaching!r} makes every '
            f'backbone parameter trainable ({plan.count(backbone):,} '
            'parameters): this run is full fine-tuning of the backbone, not '
            'adapter tuning. To train a few backbone tensors beside the '
            "adapters, narrow the expressions (e.g. [r'^backbone\\.fc_norm"
            f"\\.']); to fine-tune the whole model, {drop}set "
            "default_hooks.config_check=dict(type='ConfigCheckHook', "
            'allow_trained_host=True).')
