# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a backbone's pre-training file may hold that the model to fine-tune
lacks.

The toolboxes' fine-tuning recipes start from self-supervised files whose
backbone keeps tensors that only pre-training uses: mmpretrain's MAE
fine-tuning config (``final_norm=False, out_type='avg_featmap'``) drops the
encoder's final norm ``ln1`` and starts a fresh ``ln2``, its BEiT
fine-tuning config drops the masked-image-modelling ``mask_token`` and the
final norm too, its SimMIM config (a Swin) the ``mask_token``. MMEngine's
``Pretrained`` initialiser loads such a file non-strictly and warns of
them; :func:`pretraining_extras` names them, so that the pretrained check
tolerates them and still refuses every other key the model lacks.
"""
from typing import List, Mapping

import torch
from torch import nn

from .model_keys import block_keys

__all__ = ['pretraining_extras']


def pretraining_extras(model: nn.Module, state_dict: Mapping) -> List[str]:
    """The keys of ``state_dict`` that ``model`` lacks and that are the
    pre-training file's final norm or tokens.

    Such a key lies outside the model's blocks: a module's tensor right
    under the backbone (``ln1.weight``) or a tensor of the backbone itself
    (``mask_token``). Its tensor holds one vector (a norm's weight or bias,
    a token) of a width the model's own vectors outside its blocks have:
    that of a final norm, a class token or the patch embedding's bias or
    norm (SimMIM's ``mask_token`` on a Swin, which has no token). A file
    of another width, one with more blocks, a position embedding or a
    projection the model lacks has none of these keys: those are refused
    as before.

    Args:
        model (nn.Module): The backbone the file initialises.
        state_dict (Mapping): The file's state dict, its prefix removed.

    Returns:
        list[str]: The keys, in the file's order, without the ``module.``
        that MMEngine's load drops.
    """
    own = model.state_dict()
    stacked = block_keys(model)
    widths = {
        value.shape[-1]
        for key, value in own.items()
        if key not in stacked and torch.is_tensor(value) and _is_vector(value)
    }
    found = []
    for key, value in state_dict.items():
        if not isinstance(key, str):
            continue
        # MMEngine drops a DDP wrapper's prefix before it loads.
        key = key[len('module.'):] if key.startswith('module.') else key
        if key not in own and key.count('.') <= 1 and torch.is_tensor(
                value) and _is_vector(value) and value.shape[-1] in widths:
            found.append(key)
    return found


def _is_vector(tensor: torch.Tensor) -> bool:
    """One vector: ``(C,)``, or a token ``(1, 1, C)``."""
    return tensor.dim() >= 1 and tensor.numel() == tensor.shape[-1]
