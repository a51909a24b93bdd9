# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The guard before every state dict loaded into a frozen-host wrapper
(:class:`~mmadaptformer.models.FrozenHostWrapper`): its ``before_load``,
which its load pre-hook (:func:`.host_build.load_pre_hook`) calls on every
loading path.
"""
import logging
from typing import Mapping

import torch
from mmengine.logging import print_log
from torch import nn

from .frozen_host_record import (FROZEN_HOST_KEY, check_trained_settings,
                                 verify_frozen_host)
from .load_refusals import completing_recorded, refuse_full_with_holes
from .trained_part_check import check_trained_part

__all__ = ['UNNAMED_STATE_DICT', 'guard_load']

#: ``host_source`` after a full state dict replaced the host's weights, while
#: its file is not known (MMEngine hands the model the state dict only).
UNNAMED_STATE_DICT = 'state dict'


def guard_load(wrapper: nn.Module, state_dict: Mapping, prefix: str) -> None:
    """Guard ``wrapper``'s frozen host before ``state_dict`` is loaded.

    As :meth:`~mmadaptformer.models.FrozenHostWrapper.before_load` says.
    The frozen tensors a verified record leaves out are handed to the
    load post-hook (:func:`.host_build.load_post_hook`) as
    ``wrapper.__dict__['_load_verified']``.

    Args:
        wrapper (nn.Module): The frozen-host wrapper.
        state_dict (Mapping): The state dict being loaded; the entry
            :data:`FROZEN_HOST_KEY` is removed from it.
        prefix (str): The wrapper's prefix in it.
    """
    wrapper.__dict__.pop('_load_verified', None)  # of a load that failed
    entry = state_dict.pop(prefix + FROZEN_HOST_KEY, None)
    present = [
        state_dict[prefix + k] for k in wrapper.host_keys
        if prefix + k in state_dict
    ]
    if any(torch.is_tensor(v) and v.is_meta for v in present):
        return
    complete = len(present) == len(wrapper.host_keys)
    if not complete and entry is None:
        refuse_full_with_holes(wrapper, state_dict, prefix)
    if isinstance(entry, Mapping):  # before reading a pretrained file
        check_trained_settings(wrapper, entry)
    if not complete and not wrapper.host_initialized:
        with completing_recorded([entry]):
            wrapper.init_host()
    if entry is not None:
        verify_frozen_host(wrapper, entry, state_dict, prefix)
        # The frozen tensors it leaves out are the model's own, just
        # verified to be those the adapters were trained on: they are
        # not reported as missing (MMEngine's load_checkpoint would list
        # every one of them in a warning), nor refused by strict=True.
        wrapper.__dict__['_load_verified'] = frozenset(
            prefix + key for key in entry['fingerprints']
            if prefix + key not in state_dict)
    elif not complete:
        # E.g. an adapter-only checkpoint written before the records
        # existed: its meta digest is checked on the Runner path only.
        print_log(
            f'{type(wrapper).__name__}: the state dict lacks '
            f'{len(wrapper.host_keys) - len(present)} backbone tensors and '
            f'records no frozen backbone ({FROZEN_HOST_KEY}), so '
            f'nothing checks that they fit it. They come from '
            f'{wrapper.host_source or "nowhere: random weights"} '
            f'({wrapper.pretrained_key}). Re-save {wrapper.trained_part}-only '
            f'checkpoints with tools/model_converters/extract_adapters.py '
            f'to record it.',
            logger='current',
            level=logging.WARNING)
    check_trained_part(
        wrapper,
        state_dict,
        prefix,
        source=entry.get('source') if isinstance(entry, Mapping) else None)
    if complete:
        # With a record, the loaded host tensors were just verified to be
        # the backbone the record names; e.g. the Runner completes an
        # adapter-only checkpoint with the model's own frozen weights.
        entry = entry or {}
        wrapper.host_source = entry.get('pretrained') or entry.get(
            'source') or UNNAMED_STATE_DICT
