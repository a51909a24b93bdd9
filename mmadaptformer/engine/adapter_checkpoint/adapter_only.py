# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Adapter-only checkpoints: write them, and complete them for loading.

An adapter-only checkpoint is an ordinary MMEngine checkpoint whose
``state_dict`` holds only the trainable parts of the model (adapters, head,
extra trainable parameters and their buffers). ``meta['adapter_checkpoint']``
describes it:

* ``version``: format version (1);
* ``mode``: the AdapterHook mode it was trained with;
* ``frozen_digest``: a digest of the fingerprints of every frozen tensor (see
  :mod:`mmadaptformer.utils.fingerprint`), i.e. of the backbone it was
  trained on;
* ``frozen_keys``: how many frozen tensors that digest covers;
* ``saved_keys``: the state-dict keys it holds.

The ``state_dict`` also holds, for each frozen-host wrapper of the model
(AdaptFormer, VPT), the per-tensor fingerprints of its frozen backbone under
``<wrapper prefix>frozen_host_fingerprints`` (see
:class:`~mmadaptformer.models.FrozenHostWrapper`). They travel with the
weights, so the wrapper refuses the wrong backbone on every loading path,
not only where ``meta`` is read.
"""
from typing import Dict, Iterable, Optional, Tuple

import torch
from torch import nn

from mmadaptformer.models.adapters.trainable import TrainablePlan
from mmadaptformer.models.backbones.adapter_only_misfit import (
    check_adapter_only_host, check_adapter_only_keys, other_method)
from mmadaptformer.models.backbones.base_wrapper import (UNNAMED_STATE_DICT,
                                                         FrozenHostWrapper)
from mmadaptformer.models.backbones.frozen_host_entries import \
    frozen_host_entries
from mmadaptformer.models.backbones.frozen_host_record import (
    FROZEN_HOST_KEY, FrozenBackboneMismatchError, verify_frozen_host)
from mmadaptformer.utils.adapter_only_fit import ADAPTER_META_KEY
from mmadaptformer.utils.classifier_parts import (evaluated_parts,
                                                  head_part_keys,
                                                  missing_evaluated_keys)
from mmadaptformer.utils.control_characters import escape_controls
from mmadaptformer.utils.fingerprint import digest, state_fingerprints
from mmadaptformer.utils.local_files import full_local_path
from mmadaptformer.utils.model_keys import HEAD_NAMES, NECK_NAME
from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  listing)
from mmadaptformer.utils.trained_part_fit import trained_part_name
from .layout import RECORD_OUTCOMES, check_adapter_record, check_record_held

__all__ = [
    'HOST_SOURCES_META_KEY', 'make_adapter_checkpoint',
    'complete_adapter_checkpoint', 'check_frozen_digest',
    'check_holds_adapter_head', 'frozen_host_sources', 'other_method'
]

#: Where a merged checkpoint keeps the pretrained file of each wrapper's
#: frozen backbone (see :func:`frozen_host_sources`).
HOST_SOURCES_META_KEY = 'frozen_host_sources'
_FORMAT_VERSION = 1

#: The advice for a file of another model's settings.
_TRAINED_CONFIG = ('Load it with the config it was trained with (the '
                   'training work dir keeps a copy of it).')


def make_adapter_checkpoint(checkpoint: dict,
                            plan: TrainablePlan,
                            frozen_fingerprints: Dict[str, tuple],
                            model: Optional[nn.Module] = None) -> dict:
    """Turn a full checkpoint into an adapter-only one, in place.

    Args:
        checkpoint (dict): A checkpoint with a full ``state_dict``.
        plan (TrainablePlan): The model's trainable plan.
        frozen_fingerprints (dict): Fingerprints of the frozen tensors the
            trainable parts were trained on.
        model (nn.Module, optional): The unwrapped model. When given, the
            fingerprints of each wrapper's frozen backbone are written into
            the state dict as well. Defaults to None.

    Returns:
        dict: ``checkpoint``.
    """
    state = checkpoint['state_dict']
    saved = set(plan.saved_keys)
    checkpoint['state_dict'] = type(state)(
        (k, v) for k, v in state.items() if k in saved)
    if model is not None:
        checkpoint['state_dict'].update(
            frozen_host_entries(model, frozen_fingerprints))
    checkpoint.setdefault('meta', {})[ADAPTER_META_KEY] = dict(
        version=_FORMAT_VERSION,
        mode=plan.mode,
        frozen_digest=digest(frozen_fingerprints),
        frozen_keys=len(frozen_fingerprints),
        saved_keys=sorted(saved))
    return checkpoint


def complete_adapter_checkpoint(model: nn.Module,
                                checkpoint: dict,
                                plan: TrainablePlan,
                                source: Optional[str] = None,
                                purpose: str = 'load') -> dict:
    """Fill an adapter-only checkpoint with the model's frozen weights.

    Args:
        model (nn.Module): The unwrapped model, its frozen part loaded from
            the pretrained weights the adapters must run on.
        checkpoint (dict): An adapter-only checkpoint (changed in place).
        plan (TrainablePlan): The model's trainable plan.
        source (str, optional): The checkpoint's path, for the error.
            Defaults to None.
        purpose (str): What the caller does with the checkpoint, a key of
            :data:`~.layout.RECORD_OUTCOMES` (``'evaluate'``, ``'train'``,
            ``'write'``; ``'load'`` where it does not know, as for a load
            through MMEngine's ``runner.load_checkpoint``), for the errors
            about a file without tensors it was saved with. Defaults to
            ``'load'``.

    Returns:
        dict: ``checkpoint``, whose state dict now holds every key.

    Raises:
        FrozenBackboneMismatchError: If the frozen weights of a wrapper are
            not the ones the checkpoint was trained on.
        FrozenBackboneMismatchError: If other frozen weights differ.
        StateDictMismatchError: If its state dict lacks tensors its record
            lists as saved (:func:`~.layout.check_record_held`): the file
            was changed after it was written.
        StateDictMismatchError: If it lacks its head alone
            (:func:`check_holds_adapter_head`).
        StateDictMismatchError: If a wrapper's record names another host
            backbone (:func:`~mmadaptformer.models.backbones.
            adapter_only_misfit.check_adapter_only_host`), the checkpoint's
            trainable keys do not match the model's (:func:`~mmadaptformer.
            models.backbones.adapter_only_misfit.check_adapter_only_keys`,
            which names the cause as every tool does), or its record is not
            one (:func:`check_adapter_record`).
    """
    info = check_adapter_record(checkpoint['meta'][ADAPTER_META_KEY], source)
    state = checkpoint['state_dict']
    # A key its record lists but its state dict lacks was removed after
    # training wrote the file: not another adapter configuration.
    check_record_held(info, state, source, purpose)
    expected = set(plan.saved_keys)
    entries = {k for k in state if k.endswith(FROZEN_HOST_KEY)}
    check_adapter_only_host(model, state, source)
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected - entries)
    if missing and not unexpected:
        recorded = info.get('frozen_keys')
        beyond = None
        if isinstance(recorded, int):
            beyond = recorded - len(plan.frozen_keys)
        check_holds_adapter_head(
            model, state, missing, source, purpose, frozen_beyond=beyond)
    check_adapter_only_keys(model, state, missing, unexpected,
                            info.get('mode'), plan.mode, source)
    # Per tensor first, for an error that says how many differ.
    for name, module in model.named_modules():
        key = (f'{name}.' if name else '') + FROZEN_HOST_KEY
        if isinstance(module, FrozenHostWrapper) and key in state:
            entry = state[key]
            if source is not None and isinstance(entry, dict):
                entry.setdefault('source', source)
            verify_frozen_host(
                module,
                entry,
                prefix=key[:-len(FROZEN_HOST_KEY)],
                source=source)
    frozen = set(plan.frozen_keys)
    model_state = model.state_dict()
    check_frozen_digest(info, [(k, v)
                               for k, v in model_state.items() if k in frozen],
                        source)
    for key in plan.frozen_keys:
        state[key] = model_state[key]
    return checkpoint


def check_holds_adapter_head(model: nn.Module,
                             state: dict,
                             missing: Iterable[str],
                             source: Optional[str] = None,
                             purpose: str = 'load',
                             frozen_beyond: Optional[int] = None) -> None:
    """Refuse an adapter-only checkpoint whose adapters fit the model but
    that lacks its head (or neck): a file saved without it, or one of a
    run whose head had other settings, not one of another adapter
    configuration.

    Args:
        model (nn.Module): The unwrapped model.
        state (dict): The checkpoint's state dict.
        missing (Iterable[str]): The trainable keys it lacks.
        source (str, optional): The checkpoint file, for the error.
        purpose (str): What the caller does with it, a key of
            :data:`~.layout.RECORD_OUTCOMES`, for the error. Defaults to
            ``'load'``.
        frozen_beyond (int, optional): How many more tensors its record
            (``meta[ADAPTER_META_KEY]['frozen_keys']``) counts as frozen
            than the model has frozen. Defaults to None (not known).

    Raises:
        StateDictMismatchError: If every key it lacks is of the head or
            neck (:func:`~mmadaptformer.utils.classifier_parts.
            head_part_keys`), naming them: as one of a head of other
            settings when it holds part of the model's head (its record
            lists no more), or when its record counts exactly the lacking
            tensors among its frozen ones (the head stayed frozen in
            training, e.g. ``AdapterHook(head=[])``); else as a file saved
            without its head.
    """
    head = set(head_part_keys(model))
    missing = set(missing)
    if not missing or not missing <= head:
        return
    # As evaluation names them: without the buffers the load fills in.
    keys = [k for k in missing_evaluated_keys(model, state) if k in head]
    keys = keys or sorted(missing)
    held = sorted(key for key in state if key in head)
    outcome = RECORD_OUTCOMES[purpose].format(
        what='a head', its='its', one='one')
    where = f'{source + ": " if source else ""}Adapter-only checkpoint ' \
        f'holds its {trained_part_name(model)}s but ' \
        f'{"not all" if held else "none"} of the model\'s ' \
        f'{evaluated_parts(model, keys)} tensors: {len(keys)} missing ' \
        f'({listing(keys)})'
    if held:
        # Its record lists what it holds of the head, and nothing that it
        # lacks (check_record_held): the run that wrote it had a head of
        # other settings, e.g. TimeSformerHead where this is BNLinearHead.
        raise StateDictMismatchError(
            f'{where}, while it holds {len(held)} others ({listing(held)}). '
            'It was saved from a model whose head (or neck) has other '
            'settings, e.g. another head type, not a file saved without '
            f'its head; {outcome}. {_TRAINED_CONFIG}')
    if frozen_beyond == len(missing):
        # Its record counts them with the frozen backbone: its run froze
        # the head, so no file of that run holds a trained one.
        raise StateDictMismatchError(
            f'{where}, and its record (meta[\'{ADAPTER_META_KEY}\']) '
            f'counts {frozen_beyond} more frozen tensors than this model '
            'has frozen: those of its head (buffers included), which the '
            'run that wrote it kept frozen '
            '(e.g. AdapterHook head=[], or a head setting that names '
            'another module), not a file saved without its head; '
            f'{outcome}. {_TRAINED_CONFIG}')
    raise StateDictMismatchError(
        f'{where}. It is an adapter-only file saved without its '
        'head (e.g. a state dict filtered by hand), not another adapter '
        f'configuration; {outcome}. Give the adapter-only checkpoint its '
        'training run wrote (its work dir\'s epoch_N.pth or best_*.pth), '
        'which holds the head it trained.')


def check_frozen_digest(info: dict,
                        frozen: Iterable[Tuple[str, torch.Tensor]],
                        source: Optional[str] = None) -> str:
    """Check a model's frozen tensors against an adapter-only checkpoint's
    record of the ones its adapters were trained on.

    Args:
        info (dict): The checkpoint's ``meta[ADAPTER_META_KEY]``.
        frozen (Iterable[tuple]): The model's frozen ``(key, tensor)``
            pairs.
        source (str, optional): The checkpoint file, for the error.

    Returns:
        str: The digest, equal to ``info['frozen_digest']``.

    Raises:
        StateDictMismatchError: If the digests differ because the model
            counts tensors of its head (or neck) as frozen that the
            checkpoint's record does not list as saved: a file saved
            without its head, not another backbone
            (:func:`_check_head_recorded`).
        FrozenBackboneMismatchError: If the digests differ otherwise.
    """
    frozen = list(frozen)
    fingerprints = state_fingerprints(frozen)
    actual = digest(fingerprints)
    if actual != info['frozen_digest']:
        _check_head_recorded(info, [key for key, _ in frozen], source)
        raise FrozenBackboneMismatchError(
            f'{source + ": " if source else ""}Adapter-only checkpoint was '
            f'trained on a different frozen backbone: it records frozen '
            f'weights with digest '
            f'{escape_controls(str(info["frozen_digest"])[:16])}... '
            f'({escape_controls(str(info.get("frozen_keys")))} tensors), '
            f'but this model has '
            f'{actual[:16]}... ({len(fingerprints)} tensors). Point the '
            f'config\'s pretrained path (init_cfg / load_from of the '
            f'backbone) at the checkpoint the adapters were trained on; '
            f'loading them onto other weights would silently give wrong '
            f'results.')
    return actual


def _check_head_recorded(info: dict,
                         frozen_keys: Iterable[str],
                         source: Optional[str] = None) -> None:
    """Refuse an adapter-only checkpoint whose record leaves out tensors of
    the model's head (or neck) that the model counts as frozen.

    ``AdapterHook`` trains the head and neck in every mode, so an
    adapter-only checkpoint of a model with a head saves them; when its
    record counts fewer frozen tensors than the model's frozen ones and
    these include head tensors, the head was removed from the file and its
    record, and a frozen-digest mismatch would blame the backbone.

    Args:
        info (dict): The checkpoint's ``meta[ADAPTER_META_KEY]``.
        frozen_keys (Iterable[str]): The keys the model counts as frozen
            (those the record does not list as saved).
        source (str, optional): The checkpoint file, for the error.

    Raises:
        StateDictMismatchError: If some of ``frozen_keys`` are of the head
            or neck, naming them: when the record saved none of the head
            and counts as many frozen tensors, as a run that kept the head
            frozen; when it counts fewer, as a file saved without its head,
            or of a head of other settings if it saved part of it.
    """
    frozen_keys = list(frozen_keys)
    parts = set(HEAD_NAMES) | {NECK_NAME}
    head = [key for key in frozen_keys if key.split('.', 1)[0] in parts]
    recorded = info.get('frozen_keys')
    if not head or not isinstance(recorded, int):
        return
    tops = sorted({key.split('.', 1)[0] for key in head})
    named = ' and '.join(f'{part}.*' for part in tops)
    saved = info.get('saved_keys') or ()
    none = not any(key.split('.', 1)[0] in parts for key in saved)
    where = f'{source + ": " if source else ""}Adapter-only checkpoint ' \
        f'holds {"none" if none else "not all"} of the model\'s head ' \
        f'({named}) tensors: its record (meta[\'{ADAPTER_META_KEY}\'])'
    if recorded >= len(frozen_keys):
        if none:  # Counted among its frozen tensors: its run froze them.
            raise StateDictMismatchError(
                f'{where} counts the {len(head)} of them ({listing(head)}) '
                f'among its {recorded} frozen tensors: the run that wrote it '
                'kept its head frozen (e.g. AdapterHook head=[], or a head '
                'setting that names another module), so no file of it '
                'holds a trained head; not another frozen backbone. ' +
                _TRAINED_CONFIG)
        return
    if not none:  # Its record lists the head it saved, and no more.
        raise StateDictMismatchError(
            f'{where} lists {len(head)} of them neither as saved nor among '
            f'its {recorded} frozen '
            f'tensors ({listing(head)}): it was saved from a model whose '
            'head (or neck) has other settings, e.g. another head type, not '
            'a file saved without its head nor another frozen backbone. ' +
            _TRAINED_CONFIG)
    raise StateDictMismatchError(
        f'{where} lists {len(head)} of them neither as saved nor among its '
        f'{recorded} frozen tensors ({listing(head)}), which this model '
        'would take from its initialisation. It is an adapter-only file '
        'saved without its head (e.g. a state dict and its record filtered '
        'by hand), not '
        'another frozen backbone nor another adapter configuration. Give '
        'the adapter-only checkpoint its training run wrote (its work '
        'dir\'s epoch_N.pth or best_*.pth), which holds the head it '
        'trained.')


def frozen_host_sources(model: nn.Module) -> Dict[str, str]:
    """Where the frozen backbone of each wrapper in a model comes from.

    ``merge_adapters.py`` keeps them in ``meta[HOST_SOURCES_META_KEY]``, so
    that adapters extracted from its output again record the pretrained
    file they were trained on, not the merged one.

    Args:
        model (nn.Module): The unwrapped model.

    Returns:
        dict[str, str]: Module name of each
        :class:`~mmadaptformer.models.FrozenHostWrapper` -> its
        ``host_source``, for those whose weights were loaded: a local file
        as the absolute path that was read (``~`` expanded, as MMEngine's
        loader expands it), an address as it is.
    """
    return {
        name: module.host_source if module.host_source == UNNAMED_STATE_DICT
        else full_local_path(module.host_source)
        for name, module in model.named_modules()
        if isinstance(module, FrozenHostWrapper) and module.host_source
    }
