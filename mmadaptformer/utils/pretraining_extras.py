# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a backbone's pre-training file may hold that the model to fine-tune
lacks.

The toolboxes' fine-tuning recipes start from self-supervised files whose
backbone keeps tensors that only pre-training uses: mmpretrain's MAE
fine-tuning config (``final_norm=False, out_type='avg_featmap'``) drops the
encoder's final norm ``ln1`` and starts a fresh ``ln2``, its BEiT
fine-tuning config drops the masked-image-modelling ``mask_token`` and the
final norm too, its SimMIM config (a Swin) the ``mask_token``, its MFF
config the projection layers beside the backbone. MMEngine's
``Pretrained`` initialiser loads such a file non-strictly and warns of
them; :func:`pretraining_extras` names them, so that the pretrained check
tolerates them and still refuses every other key the model lacks.
"""
from typing import List, Mapping

import torch
from torch import nn

from .model_keys import block_keys, fresh_keys, needed_keys

__all__ = ['pretraining_extras']


def pretraining_extras(model: nn.Module, state_dict: Mapping) -> List[str]:
    """The keys of ``state_dict`` that ``model`` lacks and that only the
    pre-training model used.

    Each lies outside the model's blocks and is one of three kinds:

    * a token, one vector of the backbone itself (``mask_token``, ``(1, 1,
      C)``), of a width that the model's own vectors outside its blocks
      have (a final norm, a class token, the patch embedding's bias or
      norm: SimMIM's ``mask_token`` on a Swin, which has no token). Only
      masked pre-training feeds it.
    * a final norm's weight or bias right under the backbone
      (``ln1.weight``) where the model has another final norm of its width
      that the file lacks (``ln2``, which the fine-tuning layout starts
      fresh in its place).
    * a module or tensor that this backbone does not have at all (no
      attribute of its name: MFF's ``proj_layers`` and ``proj_weights``),
      other than a norm's weight or bias, where the file holds every other
      tensor of the model, in its shape (all but the fresh final norms and
      the integer buffers): the backbone is complete, and what lies beside
      it the model never runs.

    A final norm with no replacement (a ``cls_token`` model built with
    ``final_norm=False``, whose ``ln1`` is an identity, a CLIP file's
    ``pre_norm`` on a model whose ``pre_norm`` is one) is another layout,
    refused, as are a file of another width, one with more blocks and one
    that lacks a tensor of the model.

    Args:
        model (nn.Module): The backbone the file initialises.
        state_dict (Mapping): The file's state dict, its prefix removed.

    Returns:
        list[str]: The keys, in the file's order, without the ``module.``
        that MMEngine's load drops.
    """
    own = model.state_dict()
    stacked = block_keys(model)
    # MMEngine drops a DDP wrapper's prefix before it loads.
    held = {
        key[len('module.'):] if key.startswith('module.') else key: value
        for key, value in state_dict.items() if isinstance(key, str)
    }
    widths = {
        value.shape[-1]
        for key, value in own.items()
        if key not in stacked and torch.is_tensor(value) and _is_vector(value)
    }
    # The widths of the final norms the file lacks: what it starts fresh.
    fresh_norms = {
        own[key].shape[-1]
        for key in fresh_keys(model)
        if key not in held and key not in stacked and own[key].dim() == 1
    }
    complete = all(
        key in held and torch.is_tensor(held[key])
        and held[key].shape == own[key].shape for key in needed_keys(model))
    found = []
    for key, value in held.items():
        if key in own or not torch.is_tensor(value):
            continue
        # A norm's weight or bias right under the backbone.
        norm_like = key.count('.') == 1 and value.dim() == 1
        token = '.' not in key and _is_vector(value) and \
            value.shape[-1] in widths
        norm = norm_like and value.shape[-1] in fresh_norms
        beside = complete and not norm_like and getattr(
            model,
            key.split('.')[0], None) is None
        if token or norm or beside:
            found.append(key)
    return found


def _is_vector(tensor: torch.Tensor) -> bool:
    """One vector: ``(C,)``, or a token ``(1, 1, C)``."""
    return tensor.dim() >= 1 and tensor.numel() == tensor.shape[-1]
