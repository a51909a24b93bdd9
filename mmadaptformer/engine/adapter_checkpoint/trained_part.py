# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Whether a checkpoint holds what the model's frozen-host wrappers train."""
from typing import List, Mapping, Tuple

from torch import nn

from mmadaptformer.models.backbones.base_wrapper import FrozenHostWrapper
from mmadaptformer.models.backbones.trained_part_check import trained_part_keys
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

__all__ = ['model_trained_part_keys', 'check_holds_trained_part']


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


def check_holds_trained_part(model: nn.Module, state: Mapping,
                             source: str) -> None:
    """Refuse to evaluate a model with a full checkpoint that holds none of
    its adapters (or prompts): they would predict at their initialisation
    (random, with the video recipes' ``init='trunc_normal'``), not as
    trained.

    A checkpoint that holds some of them is refused where the model loads
    it (the wrapper's own check); adapter-only checkpoints are checked
    against their record. Training may start from such a checkpoint: the
    adapters then train from their initialisation.

    Args:
        model (nn.Module): The unwrapped model.
        state (Mapping): The checkpoint's state dict (a ``module.`` prefix
            is ignored, as MMEngine's load ignores it).
        source (str): The checkpoint file, for the error.

    Raises:
        StateDictMismatchError: If the model has a trained part and
            ``state`` holds none of it.
    """
    keys, part = model_trained_part_keys(model)
    if not keys:
        return
    held = {
        k[len('module.'):] if k.startswith('module.') else k
        for k in state
    }
    if any(key in held for key in keys):
        return
    raise StateDictMismatchError(
        f'{source} holds none of the model\'s {len(keys)} {part} tensors '
        f'(e.g. {keys[0]}): the model would be evaluated with {part}s at '
        'their initialisation, not trained ones. It is a checkpoint of a '
        f'model without these {part}s (a stock or fully fine-tuned model, '
        'a converted VideoMAE or MAE checkpoint): evaluate it with its own '
        f'config, or give the checkpoint the training run of this config '
        'wrote (its work dir\'s epoch_N.pth or best_*.pth).')
