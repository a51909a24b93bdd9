# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The model a checkpoint's state dict is keyed for."""
from torch import nn

__all__ = ['unwrapped_model']


def unwrapped_model(model: nn.Module) -> nn.Module:
    """``model`` without the wrappers MMEngine's ``load_state_dict`` looks
    through: DDP and the other model wrappers, and the test-time
    augmentation wrapper (``BaseTTAModel``, ``tools/test.py --tta``).

    mmpretrain's ``get_ori_model`` unwraps the first kind only: under
    ``--tta`` the hooks saw ``module.backbone...`` keys where checkpoints
    have ``backbone...``.

    Args:
        model (nn.Module): The runner's model.

    Returns:
        nn.Module: The model the state dicts are keyed for.
    """
    from mmengine.model import BaseTTAModel, is_model_wrapper
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model
