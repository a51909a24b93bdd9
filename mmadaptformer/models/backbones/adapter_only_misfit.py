# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The one refusal of an adapter-only checkpoint whose trained keys are not
the model's.

``tools/test.py`` (through :class:`~mmadaptformer.engine.AdapterHook`,
which completes the file with the frozen backbone) and the inference API
(``tools/infer.py``, ``init_model``, the Inferencers, through
``check_adapter_method`` before the load;
:func:`~mmadaptformer.apis.check_adapter_checkpoint` for a model loaded
elsewhere) both refuse such a file. They worded it apart
("missing trainable keys [...], unexpected keys [...]" against "the
model's adapter keys [...] (N) are not in it"), so one file got two
messages. :func:`check_adapter_only_keys` words it for both: the counts,
the first keys and the cause, the most specific one the file shows:

* adapter settings of this method that its tensors show to differ
  (:func:`~.trained_part_settings.trained_part_differences`);
* another method (:func:`other_method`: VPT's prompts where the model has
  adapters, or the reverse);
* a ``linear_probe`` run, which saved none of the model's adapters;
* otherwise, another configuration, with the AdapterHook modes where they
  differ.

A record of another host backbone is named before any key
(:func:`check_adapter_only_host`).
"""
from typing import Collection, Mapping, Optional, Sequence

from torch import nn

from mmadaptformer.utils.state_dict_check import StateDictMismatchError
from mmadaptformer.utils.trained_part_fit import (added_part_keys,
                                                  trained_part_name)
from .base_wrapper import FrozenHostWrapper
from .frozen_host_record import FROZEN_HOST_KEY
from .trained_host import check_same_host
from .trained_part_check import trained_part_keys
from .trained_part_settings import trained_part_differences

__all__ = [
    'check_adapter_only_host', 'check_adapter_only_keys', 'other_method'
]

#: How many keys of each kind the refusal names.
_LISTED = 10


def check_adapter_only_host(model: nn.Module,
                            state: Mapping,
                            source: Optional[str] = None) -> None:
    """Refuse an adapter-only checkpoint whose record names another host
    backbone for a wrapper of the model
    (:func:`~.trained_host.check_same_host`): its trained keys then differ
    in every key, and none of them is the cause, so this comes first.

    Args:
        model (nn.Module): The unwrapped model.
        state (Mapping): The checkpoint's state dict.
        source (str, optional): The checkpoint file, for the error.
            Defaults to None.
    """
    for name, module in model.named_modules():
        key = (f'{name}.' if name else '') + FROZEN_HOST_KEY
        if isinstance(module, FrozenHostWrapper) and key in state:
            check_same_host(module, state[key], source)


def other_method(model: nn.Module, state: Collection[str],
                 unexpected: Sequence[str], saved_mode: Optional[str],
                 mode: Optional[str]) -> Optional[str]:
    """Why an adapter-only checkpoint that holds none of the model's
    trained part (its adapters or prompts) but trained tensors the model
    lacks does not fit: it is of another method (VPT's prompts where the
    model has adapters, or the reverse) or another model.

    Args:
        model (nn.Module): The unwrapped model.
        state (Collection[str]): The keys the checkpoint holds (its state
            dict, or its record's ``saved_keys``).
        unexpected (Sequence[str]): Its trained keys the model lacks.
        saved_mode (str, optional): The AdapterHook mode its record names.
        mode (str, optional): The AdapterHook mode of the model's config,
            None where it is not known.

    Returns:
        str, optional: The sentences that say so (and the modes, where
        both are known and differ); None when it holds some of that part,
        or nothing the model lacks.
    """
    keys = added_part_keys(model)
    if not keys or not unexpected or any(key in state for key in keys):
        return None
    part = trained_part_name(model)
    plural = 's' if len(keys) != 1 else ''
    lacks = 'tensor' + ('s' if len(unexpected) != 1 else '')
    modes = '' if mode is None or saved_mode in (None, mode) else (
        f' It was saved in AdapterHook mode {saved_mode!r}, this config '
        f'trains in mode {mode!r}.')
    return (f'It holds none of this model\'s {len(keys)} {part} '
            f'tensor{plural} (e.g. {keys[0]}) but {len(unexpected)} trained '
            f'{lacks} this model lacks: it was trained with another method or '
            'model (e.g. a VPT config\'s prompts where this config has '
            'AdaptFormer\'s adapters, or the reverse), not with other '
            f'settings of this one.{modes}')


def _linear_probe(model: nn.Module, state: Collection[str],
                  unexpected: Sequence[str],
                  saved_mode: Optional[str]) -> Optional[str]:
    """Why a ``linear_probe`` file that holds none of the model's trained
    part, and nothing the model lacks, does not fit; None otherwise."""
    keys = added_part_keys(model)
    if saved_mode != 'linear_probe' or not keys or unexpected or any(
            key in state for key in keys):
        return None
    part = trained_part_name(model)
    plural = 's' if len(keys) != 1 else ''
    return ("It was saved in AdapterHook mode 'linear_probe', which trains "
            'the head (and its extra_trainable parameters) alone: the '
            f"model's {part}s ({len(keys)} tensor{plural}, e.g. {keys[0]}) "
            'stayed at their random initialisation and are not in it, so it '
            f'cannot be restored on a model with {part}s. Use a config '
            f'without {part}s (as configs/baselines/linear-probe_*.py), or '
            f'train the {part}s.')


def _settings(model: nn.Module, state: Mapping) -> list:
    """The settings of each wrapper's trained part that the checkpoint's
    keys (and tensors, where it holds them) show to differ."""
    return [
        phrase for name, module in model.named_modules()
        if isinstance(module, FrozenHostWrapper)
        for prefix in [f'{name}.' if name else '']
        for phrase in trained_part_differences(
            module, state, prefix, trained_part_keys(module, state, prefix))
    ]


def check_adapter_only_keys(model: nn.Module,
                            state: Mapping,
                            missing: Collection[str],
                            unexpected: Collection[str],
                            saved_mode: Optional[str] = None,
                            mode: Optional[str] = None,
                            source: Optional[str] = None) -> None:
    """Refuse an adapter-only checkpoint whose trained keys are not the
    model's, with the words every tool uses.

    Args:
        model (nn.Module): The unwrapped model.
        state (Mapping): What the checkpoint holds: its state dict, or its
            record's ``saved_keys`` as the keys of a mapping (the settings
            that only shapes show, as ``bottleneck``, are then not named).
        missing (Collection[str]): The model's trainable keys it lacks.
        unexpected (Collection[str]): Its trained keys the model does not
            train (or lacks).
        saved_mode (str, optional): The AdapterHook mode its record names.
            Defaults to None.
        mode (str, optional): The AdapterHook mode of the model's config,
            None where it is not known. Defaults to None.
        source (str, optional): The checkpoint file, for the error.
            Defaults to None.

    Raises:
        StateDictMismatchError: If it lacks keys or holds others, naming
            how many, the first ones and the cause.
    """
    missing, unexpected = sorted(missing), sorted(unexpected)
    if not missing and not unexpected:
        return
    other = '' if None in (saved_mode, mode) or saved_mode == mode else (
        f' or AdapterHook mode (checkpoint: {saved_mode!r}, now: {mode!r})')
    named = _settings(model, state)
    if named:
        cause = f'It was saved with other {trained_part_name(model)} ' \
            f'settings: {"; ".join(named)}{other}.'
    else:
        cause = other_method(model, state, unexpected, saved_mode, mode)
    # A linear-probe file fits a config without adapters: its own advice.
    probe = None if cause else _linear_probe(model, state, unexpected,
                                             saved_mode)
    cause = probe or (cause or f'Was it trained with another '
                      f'{trained_part_name(model)} configuration{other}?') + \
        ' Use the config it was trained with.'
    found = []
    for keys, what in ((missing, 'missing trainable'), (unexpected,
                                                        'unexpected')):
        if keys:
            found.append(f'{len(keys)} {what} key'
                         f'{"s" if len(keys) != 1 else ""} '
                         f'{keys[:_LISTED]}')
    raise StateDictMismatchError(
        f'{source + ": " if source else ""}Adapter-only checkpoint does '
        f'not fit this model: {", ".join(found)}. {cause}')
