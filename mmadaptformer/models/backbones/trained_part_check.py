# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A state dict that holds a frozen-host wrapper's trained part (its
adapters or prompts) holds all of it, in the model's shapes, and no more.

MMEngine's ``load_checkpoint`` and the Inferencers load non-strictly: the
adapters of a checkpoint trained with other ``layers`` or another
``bottleneck`` would load in part, with a warning, and the rest would keep
their initial values, which with ``init='trunc_normal'`` are random. A
state dict with none of them (a stock backbone's) is not concerned.
"""
from typing import List, Mapping, Optional

import torch
from torch import nn

from ...utils.adapter_only_fit import loading_source
from ...utils.state_dict_check import StateDictMismatchError
from ...utils.vit_modality import modality_mismatch_cause
from .trained_part_settings import trained_part_differences

__all__ = ['check_trained_part', 'trained_part_keys']

#: How many keys an error lists by name.
_LISTED = 5
#: The settings of each trained part that decide its tensors.
_SETTINGS = dict(
    adapter='layers, bottleneck, norm, learnable scale',
    prompt='num_prompts, deep')


def _listed(keys: List[str]) -> str:
    more = f', ... ({len(keys)} in all)' if len(keys) > _LISTED else ''
    return ', '.join(keys[:_LISTED]) + more


def trained_part_keys(wrapper: nn.Module,
                      state_dict: Mapping,
                      prefix: str = '') -> List[str]:
    """The keys of ``state_dict`` that hold a wrapper's trained part.

    These are the wrapper's own tensors beside the host's (the adapters,
    the prompts) and tensors of the modules it attaches that this model
    lacks, e.g. the adapters of blocks its ``layers`` leave out: a key with
    the attached modules' name (``adaptmlp``) among its parts.

    Args:
        wrapper (FrozenHostWrapper): The wrapper.
        state_dict (Mapping): Any state dict.
        prefix (str): The wrapper's prefix in it. Defaults to ''.

    Returns:
        list[str]: The keys, in the state dict's order.
    """
    host = set(wrapper.host_keys)
    own = {k for k in wrapper.state_dict() if k not in host}
    names = {name for _, name in wrapper.attached_modules()}
    keys = []
    for key in state_dict:
        if not key.startswith(prefix) or key[len(prefix):] in host:
            continue
        name = key[len(prefix):]
        if name in own or names.intersection(name.split('.')):
            keys.append(key)
    return keys


def check_trained_part(wrapper: nn.Module,
                       state_dict: Mapping,
                       prefix: str,
                       source: Optional[str] = None) -> None:
    """Refuse a state dict with only some of the wrapper's own tensors, any
    of them in another shape, or trained-part tensors the model lacks.

    Args:
        wrapper (FrozenHostWrapper): The wrapper being loaded.
        state_dict (Mapping): The state dict being loaded.
        prefix (str): The wrapper's prefix in it.
        source (str, optional): The file it was read from, if known; by
            default the file MMEngine is loading (a merged or full file has
            no record that names it).

    Raises:
        StateDictMismatchError: Naming the missing keys and the shapes that
            differ.
    """
    source = source or loading_source()
    host = set(wrapper.host_keys)
    everything = wrapper.state_dict()
    own = {k: v for k, v in everything.items() if k not in host}
    given = [k for k in own if prefix + k in state_dict]
    part_keys = trained_part_keys(wrapper, state_dict, prefix)
    # Keys of the trained part that this model does not have, e.g. the
    # adapters of blocks its ``layers`` leave out.
    unexpected = [key for key in part_keys if key[len(prefix):] not in own]
    if not given and not unexpected:
        return
    missing = [prefix + k for k in own if prefix + k not in state_dict]
    shapes = []
    for key in given:
        value = state_dict[prefix + key]
        if torch.is_tensor(value) and value.shape != own[key].shape:
            shapes.append(f'{prefix}{key}: checkpoint {tuple(value.shape)} '
                          f'vs model {tuple(own[key].shape)}')
    if not missing and not shapes and not unexpected:
        return
    part = wrapper.trained_part
    # Backbone tensors this model lacks (the blocks of a deeper one): the
    # adapters differ because the backbone does, not their settings.
    foreign = [
        key for key in state_dict if key.startswith(prefix)
        and key not in part_keys and key[len(prefix):] not in everything
        and torch.is_tensor(state_dict[key])
    ]
    # An image model's on a video model or the reverse: said for what it
    # is, with what fits (not the config it was trained with).
    other_kind = modality_mismatch_cause(everything, state_dict,
                                         prefix) if foreign else None
    if other_kind is not None:
        cause = other_kind
    elif foreign:
        cause = ('it was saved on a backbone of another depth or layout: it '
                 f'holds {len(foreign)} backbone tensors this model lacks '
                 f'({_listed(foreign)})')
    else:
        differ = trained_part_differences(wrapper, state_dict, prefix,
                                          part_keys)
        # Named as the record's settings are (check_trained_settings); the
        # tensors that show them follow.
        cause = f'it was saved with other {part} settings' + (
            f': {"; ".join(differ)}'
            if differ else f' ({_SETTINGS.get(part, "layers")})')
    lines = [
        f'The state dict{" of " + source if source else ""} holds {part} '
        f"tensors that do not fit this model's {part}s: {cause}."
    ]
    if missing:
        lines.append(f'Missing ({len(missing)} of {len(own)}): '
                     f'{_listed(missing)}.')
    if unexpected:
        lines.append(f'Not in this model ({len(unexpected)}): '
                     f'{_listed(unexpected)}.')
    if shapes:
        lines.append(f'Tensors whose shapes differ ({len(shapes)}): '
                     f'{_listed(shapes)}.')
    if other_kind is None:
        lines.append(f'Load it with the config it was trained with: {part}s '
                     'loaded in part give other results than the trained '
                     'ones.')
    raise StateDictMismatchError(' '.join(lines))
