# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check that an adapter-only checkpoint's trained keys are the model's
(:func:`check_adapter_method`, before loading) and that it runs on the
backbone it was loaded onto (:func:`check_loaded_frozen`, after loading),
refused in the words ``tools/test.py`` uses. :func:`check_adapter_checkpoint`
does both for a loaded model; :func:`~mmadaptformer.apis.init_model` calls
them around its load. Each takes the record as
:func:`~mmadaptformer.engine.adapter_checkpoint.check_adapter_record`
returned it, so a load reads it once."""
from typing import Mapping, Optional

from torch import nn

from mmadaptformer.engine import ADAPTER_META_KEY, check_frozen_digest
from mmadaptformer.engine.adapter_checkpoint import (EXPECTED_CHECKPOINT,
                                                     check_adapter_record,
                                                     checkpoint_meta)
from mmadaptformer.models.backbones.adapter_only_misfit import (
    check_adapter_only_host, check_adapter_only_keys)
from mmadaptformer.utils.model_unwrap import unwrapped_model
from mmadaptformer.utils.trained_part_fit import added_part_keys

__all__ = [
    'check_adapter_checkpoint', 'check_adapter_method', 'check_loaded_frozen'
]


def check_adapter_method(model: nn.Module,
                         info: dict,
                         source: str,
                         mode: Optional[str] = None,
                         state: Optional[Mapping] = None) -> None:
    """Refuse, before it loads, an adapter-only checkpoint whose trained
    keys are not the model's, with the words ``tools/test.py`` uses
    (:func:`~mmadaptformer.models.backbones.adapter_only_misfit.
    check_adapter_only_keys`).

    From its record alone, one that holds none of the model's trained part
    (its adapters or prompts): trained with another method (a VPT config's
    prompts on an AdaptFormer model, or the reverse) or in AdapterHook mode
    ``'linear_probe'``. Given its state dict too, also one of other
    settings (adapters of other blocks), after a record of another host
    backbone is named as such, as ``tools/test.py`` names them.

    Args:
        model (nn.Module): The model, or a wrapper of it.
        info (dict): The checkpoint's ``meta[ADAPTER_META_KEY]``, as
            :func:`~mmadaptformer.engine.adapter_checkpoint.
            check_adapter_record` returned it (not checked again).
        source (str): The checkpoint file, for the error.
        mode (str, optional): The AdapterHook mode of the model's config,
            said beside the record's where they differ. Defaults to None
            (not said).
        state (Mapping, optional): The checkpoint's state dict. Defaults
            to None (its record's keys alone: adapters of other settings
            are left to the model's own load, which names the settings its
            record holds).

    Raises:
        StateDictMismatchError: If its trained keys are not the model's,
            naming the keys, the cause and the modes.
    """
    saved = set(info['saved_keys'])
    model = unwrapped_model(model)
    keys = added_part_keys(model)
    if state is None:
        if not keys or any(key in saved for key in keys):
            return
        state = dict.fromkeys(saved)
    else:
        check_adapter_only_host(model, state, source)
    check_adapter_only_keys(model, state, [k for k in keys if k not in saved],
                            saved - set(model.state_dict(keep_vars=True)),
                            info.get('mode'), mode, source)


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
        StateDictMismatchError: If its trained keys are not the model's
            (:func:`check_adapter_method`, given its state dict), or its
            ``meta`` or record is not laid out as written
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
    info = check_adapter_record(info, source)
    # Its trained part (adapters, prompts, wherever they sit) must be the
    # model's: a part it lacks would otherwise count as frozen tensors, and
    # the error would blame the backbone.
    check_adapter_method(model, info, source, state=checkpoint['state_dict'])
    return check_loaded_frozen(model, info, source)


def check_loaded_frozen(model: nn.Module, info: dict, source: str) -> str:
    """Check that the frozen tensors of a model that an adapter-only
    checkpoint was loaded into are the ones its trained part was trained
    on.

    Args:
        model (nn.Module): The model after loading, or a wrapper of it (see
            :func:`check_adapter_checkpoint`).
        info (dict): The checkpoint's ``meta[ADAPTER_META_KEY]``, as
            :func:`~mmadaptformer.engine.adapter_checkpoint.
            check_adapter_record` returned it (not checked again).
        source (str): The checkpoint file, for errors.

    Returns:
        str: The checkpoint's frozen digest.

    Raises:
        FrozenBackboneMismatchError: If the model's frozen tensors are not
            the ones the trained part was trained on.
    """
    saved = set(info['saved_keys'])
    # The checkpoint is keyed for the model, as MMEngine's loader strips
    # the wrappers' prefix.
    state = unwrapped_model(model).state_dict(keep_vars=True)
    frozen = [(k, v.detach()) for k, v in state.items() if k not in saved]
    check_frozen_digest(info, frozen, source)
    return info['frozen_digest']
