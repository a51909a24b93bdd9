# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The guard before every state dict loaded into a frozen-host wrapper
(:class:`~mmadaptformer.models.FrozenHostWrapper`): its ``before_load``,
which its load pre-hook (:func:`.host_build.load_pre_hook`) calls on every
loading path.
"""
from typing import Mapping, Sequence

import torch
from torch import nn

from ...utils.adapter_only_fit import loading_adapter_only, loading_source
from ...utils.control_characters import escape_controls
from ...utils.counted import counted
from ...utils.dry_run import in_dry_run, real_writes
from ...utils.recordless_adapters import (RECORD_AGAIN, RECORD_LOST,
                                          RUN_FILE_INSTEAD,
                                          meta_record_checked)
from ...utils.state_dict_check import StateDictMismatchError
from .frozen_host_record import (FROZEN_HOST_KEY, check_trained_settings,
                                 verify_frozen_host)
from .load_refusals import completing_recorded, refuse_full_with_holes
from .trained_part_check import check_trained_part, trained_part_keys

__all__ = ['UNNAMED_STATE_DICT', 'guard_load', 'refuse_recordless']

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
    complete = len(present) == len(wrapper.host_keys)
    compared = entry
    # A check's dry run (on meta tensors, or on read-only real ones):
    # nothing loads, the host is not marked loaded by it.
    if in_dry_run() or any(torch.is_tensor(v) and v.is_meta for v in present):
        if complete or not isinstance(entry, Mapping) or not isinstance(
                entry.get('fingerprints'), Mapping):
            return
        # A check's dry run of an adapter-only state dict
        # that holds some host tensors (a trained final norm): what it
        # leaves out is compared with the record as the load will compare
        # it (else the check names those tensors as missing); what it
        # holds is only known in the load.
        compared = dict(
            entry,
            fingerprints={
                k: v
                for k, v in entry['fingerprints'].items()
                if prefix + k not in state_dict
            })
    adapter_only = False
    if not complete and entry is None:
        adapter_only = refuse_full_with_holes(wrapper, state_dict, prefix)
    if isinstance(entry, Mapping):  # before reading a pretrained file
        check_trained_settings(wrapper, entry)
    if not complete and not wrapper.host_initialized:
        # Loaded for real, in a dry run too, as the real load will.
        with completing_recorded([entry]), real_writes():
            wrapper.init_host()
    if entry is not None:
        verify_frozen_host(wrapper, compared, state_dict, prefix)
        # The frozen tensors it leaves out are the model's own, just
        # verified to be those the adapters were trained on: they are
        # not reported as missing (MMEngine's load_checkpoint would list
        # every one of them in a warning), nor refused by strict=True.
        wrapper.__dict__['_load_verified'] = frozenset(
            prefix + key for key in entry['fingerprints']
            if prefix + key not in state_dict)
    check_trained_part(
        wrapper,
        state_dict,
        prefix,
        source=entry.get('source') if isinstance(entry, Mapping) else None)
    # After the check that names adapters of other settings, the more
    # precise cause. Without its trained part it is no adapter-only file of
    # this model (e.g. weights nested under one key): the checks after the
    # load name it.
    trained = trained_part_keys(wrapper, state_dict, prefix) \
        if adapter_only and not meta_record_checked() else []
    if trained:
        refuse_recordless(wrapper, prefix, len(present), trained)
    if complete:
        # With a record, the loaded host tensors were just verified to be
        # the backbone the record names; e.g. the Runner completes an
        # adapter-only checkpoint with the model's own frozen weights.
        entry = entry or {}
        wrapper.host_source = entry.get('pretrained') or entry.get(
            'source') or UNNAMED_STATE_DICT


def refuse_recordless(wrapper: nn.Module, prefix: str, held: int,
                      trained: Sequence[str]) -> None:
    """Refuse a state dict that lacks backbone tensors and holds no record
    of the frozen backbone they must be (:data:`FROZEN_HOST_KEY`).

    It is adapter-only (:func:`.load_refusals.refuse_full_with_holes`
    says so): a file written before the state-dict record existed, whose
    record is in ``meta`` alone, or one whose record was lost (its tensors
    alone saved again). On another backbone than the one they were
    trained on its adapters give wrong results without an error, and this
    load cannot tell which one that was: ``load_checkpoint``,
    ``mmpretrain.get_model``, the Inferencers and ``init_recognizer``
    read no meta record. A caller that checks the meta record does not
    get here (:func:`~mmadaptformer.utils.recordless_adapters.
    checking_meta_record`); the Runner's ``AdapterHook`` completes such a
    checkpoint, checked, before it loads.

    Args:
        wrapper (nn.Module): The frozen-host wrapper.
        prefix (str): Its prefix in the state dict.
        held (int): How many of its host's tensors the state dict holds.
        trained (Sequence[str]): Its keys of the wrapper's trained part
            (:func:`.trained_part_check.trained_part_keys`).

    Raises:
        StateDictMismatchError: Naming the file (if known), what it lacks
            and a way to load it that works.
    """
    source = loading_source()
    being_loaded = f'the state dict of {source}' if source else \
        'the state dict being loaded'
    total = len(wrapper.host_keys)
    part = wrapper.trained_part
    backbone = wrapper.host_source
    backbone = backbone if backbone and backbone != UNNAMED_STATE_DICT \
        else None
    runs_on = (f'the {total - held} backbone tensors it leaves out, which '
               f'would come from {backbone or "nowhere (random weights)"} '
               f'({wrapper.pretrained_key}),')
    record = f'{prefix}{FROZEN_HOST_KEY}'
    holds = (f'{held} of the {total} backbone tensors (not the blocks\' '
             'weights)') if held else f'none of the {total} backbone tensors'
    if loading_adapter_only():
        raise StateDictMismatchError(
            f'{type(wrapper).__name__}: {being_loaded} is an adapter-only '
            "checkpoint (meta['adapter_checkpoint']) without the record of "
            f'its frozen backbone in its state dict ({record}), as files '
            'written before that record existed are. This load does not '
            f'read the meta record, so nothing checks that {runs_on} are '
            f'the ones its {part}s were trained on; on another backbone '
            'they give wrong results without an error. Loading stopped '
            'here. tools/test.py, tools/infer.py and '
            'mmadaptformer.apis.init_model load it as it is, checking its '
            'meta record; to load it everywhere, record its backbone in it: ' +
            RECORD_AGAIN.format(
                config='CONFIG',
                file=source or 'FILE',
                backbone=backbone or 'BACKBONE.pth') +
            '; CONFIG is the config it was trained with.')
    raise StateDictMismatchError(
        f'{type(wrapper).__name__}: {being_loaded} holds '
        f'{counted(len(trained), "tensors")} of trained {part}s (e.g. '
        f'{escape_controls(trained[0])}), {holds} and no record of the '
        f"frozen backbone ({record} in it, or meta['adapter_checkpoint']): "
        f'{RECORD_LOST}. Nothing can check that {runs_on} are the ones its '
        f'{part}s were trained on; on another backbone they give wrong '
        f'results without an error. Loading stopped here. {RUN_FILE_INSTEAD} '
        f'({wrapper.pretrained_key}).')
