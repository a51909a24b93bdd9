# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check that an adapter-only checkpoint runs on the backbone it was
loaded onto (:func:`check_adapter_checkpoint`, which
:func:`~mmadaptformer.apis.init_model` calls after loading)."""
from typing import Optional

from torch import nn

from mmadaptformer.engine import ADAPTER_META_KEY, check_frozen_digest
from mmadaptformer.engine.adapter_checkpoint import (EXPECTED_CHECKPOINT,
                                                     check_adapter_record,
                                                     checkpoint_meta)
from mmadaptformer.utils.model_unwrap import unwrapped_model
from mmadaptformer.utils.state_dict_check import StateDictMismatchError
from mmadaptformer.utils.trained_part_fit import (added_part_keys,
                                                  trained_part_name)

__all__ = ['check_adapter_checkpoint']


def check_adapter_checkpoint(model: nn.Module, checkpoint: dict,
                             source: str) -> Optional[str]:
    """Check that an adapter-only checkpoint runs on the loaded backbone.

    Args:
        model (nn.Module): The model after loading ``checkpoint``, or a
            wrapper of it (``DataParallel``, DDP, a test-time augmentation
            model), whose keys are the model's with a ``module.`` prefix.
        checkpoint (dict): The loaded checkpoint.
        source (str): The checkpoint file, for errors.

    Returns:
        str, optional: The frozen digest of an adapter-only checkpoint, None
        for other checkpoints.

    Raises:
        StateDictMismatchError: If its trained keys are not the model's,
            it lacks the model's trained part (its adapters or prompts,
            :func:`~mmadaptformer.utils.trained_part_fit.added_part_keys`),
            or its ``meta`` or record is not laid out as written
            (:func:`~mmadaptformer.engine.adapter_checkpoint.
            check_adapter_record`).
        FrozenBackboneMismatchError: If the model's frozen tensors are not
            the ones the trained part was trained on.
    """
    info = checkpoint_meta(
        checkpoint, source, EXPECTED_CHECKPOINT,
        purpose='evaluate').get(ADAPTER_META_KEY)
    if info is None:
        return None
    saved = set(check_adapter_record(info, source)['saved_keys'])
    # The checkpoint is keyed for the model, as MMEngine's loader strips
    # the wrappers' prefix.
    model = unwrapped_model(model)
    state = model.state_dict(keep_vars=True)
    # The model's trained part (adapters, prompts, wherever they sit) must
    # be the checkpoint's: a part it lacks would otherwise count as frozen
    # tensors, and the error would blame the backbone.
    keys, part = added_part_keys(model), trained_part_name(model)
    untrained = sorted(k for k in keys if k not in saved)
    unknown = sorted(saved - set(state))
    if untrained and info.get('mode') == 'linear_probe':
        raise StateDictMismatchError(
            f'{source}: the adapter-only checkpoint was saved in '
            "AdapterHook mode 'linear_probe', which trains the head (and "
            f'its extra_trainable parameters) alone: the model\'s {part}s '
            f'({len(untrained)} tensor{"s" * (len(untrained) != 1)}, e.g. '
            f'{untrained[0]}) stayed at their random initialisation and '
            'are not in it, so it cannot be restored on a model with '
            f'{part}s. Use a config without {part}s (as '
            'configs/baselines/linear-probe_*.py), or train the '
            f'{part}s.')
    if untrained or unknown:
        parts = []
        if untrained:
            parts.append(f'the model\'s {part} keys {untrained[:10]} '
                         f'({len(untrained)}) are not in it')
        if unknown:
            parts.append(f'its trained keys {unknown[:10]} '
                         f'({len(unknown)}) are not in the model')
        raise StateDictMismatchError(
            f'{source}: the adapter-only checkpoint does not fit this '
            f'model: {"; ".join(parts)}. Was it trained with another '
            f'{part} configuration? Use the config it was trained with.')
    frozen = [(k, v.detach()) for k, v in state.items() if k not in saved]
    check_frozen_digest(info, frozen, source)
    return info['frozen_digest']
