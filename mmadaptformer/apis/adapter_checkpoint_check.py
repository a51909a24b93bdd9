# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check that an adapter-only checkpoint runs on the backbone it was
loaded onto (:func:`check_adapter_checkpoint`, which
:func:`~mmadaptformer.apis.init_model` calls after loading), and that it
is of the model's method at all (:func:`check_adapter_method`, which it
calls before loading)."""
from typing import Optional

from torch import nn

from mmadaptformer.engine import ADAPTER_META_KEY, check_frozen_digest
from mmadaptformer.engine.adapter_checkpoint import (EXPECTED_CHECKPOINT,
                                                     check_adapter_record,
                                                     checkpoint_meta,
                                                     other_method)
from mmadaptformer.utils.model_unwrap import unwrapped_model
from mmadaptformer.utils.state_dict_check import StateDictMismatchError
from mmadaptformer.utils.trained_part_fit import (added_part_keys,
                                                  trained_part_name)

__all__ = ['check_adapter_checkpoint', 'check_adapter_method']


def check_adapter_method(model: nn.Module,
                         info: dict,
                         source: str,
                         mode: Optional[str] = None) -> None:
    """Refuse an adapter-only checkpoint whose record lists none of the
    model's trained part (its adapters or prompts) but trained tensors the
    model lacks: it was trained with another method (a VPT config's prompts
    on an AdaptFormer model, or the reverse) or another model.

    It reads the record alone, so it is made before anything loads, with
    the words ``tools/test.py`` uses
    (:func:`~mmadaptformer.engine.adapter_checkpoint.other_method`),
    instead of the load's report of unexpected keys.

    Args:
        model (nn.Module): The model, or a wrapper of it.
        info (dict): The checkpoint's ``meta[ADAPTER_META_KEY]``.
        source (str): The checkpoint file, for the error.
        mode (str, optional): The AdapterHook mode of the model's config,
            said beside the record's where they differ. Defaults to None
            (not said).

    Raises:
        StateDictMismatchError: If it is of another method, naming the
            keys and the modes.
    """
    saved = set(check_adapter_record(info, source)['saved_keys'])
    model = unwrapped_model(model)
    own = model.state_dict(keep_vars=True)
    unknown = sorted(saved - set(own))
    cause = other_method(model, saved, unknown, info.get('mode'), mode)
    if cause is None:
        return
    missing = added_part_keys(model)
    raise StateDictMismatchError(
        f'{source}: Adapter-only checkpoint does not fit this model: '
        f'missing {trained_part_name(model)} keys {missing[:10]}, '
        f'unexpected keys {unknown[:10]}. {cause} Use the config it was '
        'trained with.')


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
        StateDictMismatchError: If it is of another method
            (:func:`check_adapter_method`), its trained keys are not the
            model's,
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
    # Of another method: so named, not as adapters of the random
    # initialisation (linear_probe) or of another configuration.
    check_adapter_method(model, info, source)
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
