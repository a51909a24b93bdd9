# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Compare a model with the record of the frozen backbone an adapter-only
state dict was trained on.

A frozen-host wrapper (:class:`~mmadaptformer.models.FrozenHostWrapper`)
saves, with its trainable parts, the per-tensor fingerprints (see
:mod:`mmadaptformer.utils.fingerprint`) of its frozen host under
``<wrapper prefix>`` + :data:`FROZEN_HOST_KEY` (:mod:`.frozen_host_entries`
writes that record). :func:`verify_frozen_host` compares a wrapper's frozen
host with it and raises :class:`FrozenBackboneMismatchError` if they differ;
:func:`differing_frozen_keys` names the tensors of a pretrained file that
differ, by the same comparison.

The record also keeps the settings of the trained part that change what it
computes without changing its tensors (a fixed adapter ``scale``, the
``placement``, VPT's ``deep``: see
:meth:`~mmadaptformer.models.FrozenHostWrapper.trained_settings`), under
:data:`SETTINGS_KEY`; :func:`check_trained_settings` refuses a model built
with other ones. Records written before they were kept have none, and are
not checked for them.

A full checkpoint holds the frozen tensors itself, but its trained part
ran with settings all the same: ``tools/model_converters/merge_adapters.py``
keeps them under the same key, in a record of format :data:`SETTINGS_FORMAT`
without fingerprints
(:func:`~.frozen_host_entries.trained_settings_entries`), and the wrapper
refuses a model built with other ones on every loading path. Merged
checkpoints written before have no record, and load as before.
"""
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from torch import nn

from ...utils.adapter_only_fit import loading_source
from ...utils.checkpoint_source import FROZEN_HOST_FORMAT
from ...utils.control_characters import escape_controls
from ...utils.fingerprint import tensor_fingerprint
from ...utils.load_refusal import LoadRefusal
from ...utils.local_files import is_local, same_file
from ...utils.state_dict_check import StateDictMismatchError
from .frozen_host_entries import LISTED, as_fingerprint
from .trained_host import (FROZEN_HOST_KEY, HOST_KEY, SETTINGS_FORMAT,
                           SETTINGS_KEY, check_same_host,
                           check_trained_settings)

__all__ = [
    'FROZEN_HOST_KEY', 'SETTINGS_KEY', 'SETTINGS_FORMAT', 'HOST_KEY',
    'FrozenBackboneMismatchError', 'check_same_host', 'check_trained_settings',
    'verify_frozen_host', 'differing_frozen_keys'
]


class FrozenBackboneMismatchError(RuntimeError, LoadRefusal):
    """An adapter-only checkpoint meets a frozen backbone it was not trained
    on.

    Attributes:
        trained_on (str, optional): The pretrained checkpoint the trained
            parts were trained on, as their record names it; None if it
            does not.
        named_backbone (bool): Whether the model's frozen backbone already
            comes from that file: another ``--pretrained`` cannot help.
    """

    def __init__(self,
                 message: str,
                 trained_on: Optional[str] = None,
                 named_backbone: bool = False):
        super().__init__(message)
        self.trained_on = trained_on
        self.named_backbone = named_backbone


def _host_tensors(wrapper: nn.Module, state_dict: Optional[Mapping],
                  prefix: str) -> dict:
    """The host's tensors by key: those of ``state_dict`` (under ``prefix``)
    where it holds them, else the model's."""
    host = dict(wrapper.backbone.state_dict())
    if state_dict is not None:
        host.update({
            key: state_dict[prefix + key]
            for key in host if prefix + key in state_dict
        })
    return host


def _recorded(entry: Any) -> Tuple[Optional[Dict[str, tuple]], str]:
    """The fingerprints a :func:`frozen_host_entry` record holds, by key
    (:func:`as_fingerprint`); None for a record that is not one, with what
    was found instead, for the error."""
    if not isinstance(entry, Mapping):
        return None, type(entry).__name__
    if entry.get('format') != FROZEN_HOST_FORMAT or \
            not isinstance(entry.get('fingerprints'), Mapping):
        return None, f'format {entry.get("format")!r}'
    expected = {}
    for key, value in entry['fingerprints'].items():
        try:
            expected[key] = as_fingerprint(value)
        except (TypeError, ValueError):
            return None, (f'{escape_controls(repr(value)[:60])} as the '
                          f'fingerprint of {escape_controls(str(key))}')
    return expected, ''


def differing_frozen_keys(entry: Any,
                          host_state: Mapping) -> Optional[List[str]]:
    """The keys of a record's frozen tensors that a host state dict lacks
    or holds with other values; None if ``entry`` is not a
    :func:`frozen_host_entry` record.

    Args:
        entry (Any): The record, as saved.
        host_state (Mapping): A state dict of the host (keys without the
            wrapper's prefix), e.g. a pretrained file's.

    Returns:
        list[str], optional: The keys that differ, in the record's order.
    """
    expected, _ = _recorded(entry)
    return None if expected is None else _differing(expected, host_state)


def _differing(expected: Mapping[str, tuple], host: Mapping) -> List[str]:
    """The keys of the ``expected`` fingerprints whose tensors ``host``
    lacks or holds with other values, in their order."""
    return [
        key for key, fingerprint in expected.items()
        if not torch.is_tensor(host.get(key))
        or tensor_fingerprint(host[key]) != fingerprint
    ]


def _check_architecture(wrapper: nn.Module, expected: Mapping[str, tuple],
                        host: Mapping, source: Optional[str]) -> None:
    """Refuse a record of another architecture: tensors this host does not
    have (in ``host``, see :func:`_host_tensors`), or has in other shapes.
    No pretrained file would fit it."""
    absent, shapes = [], []
    for key, fingerprint in expected.items():
        if key not in host:
            absent.append(key)
        elif torch.is_tensor(
                host[key]) and tuple(host[key].shape) != fingerprint[0]:
            shapes.append(f'{key} {fingerprint[0]} vs '
                          f'{tuple(host[key].shape)}')
    if not absent and not shapes:
        return
    part = wrapper.trained_part
    lines = [
        f'The {part}-only checkpoint{" " + source if source else ""} was '
        f'trained on another backbone architecture than this model\'s '
        f'{type(wrapper.backbone).__name__}:'
    ]
    if absent:
        lines.append(
            f'{len(absent)} of its {len(expected)} '
            f'frozen tensors are not in it ({", ".join(absent[:LISTED])}'
            f'{", ..." if len(absent) > LISTED else ""}).')
    if shapes:
        lines.append(f'{len(shapes)} have other shapes (checkpoint vs '
                     f'model: {", ".join(shapes[:LISTED])}'
                     f'{", ..." if len(shapes) > LISTED else ""}).')
    lines.append('Load it with the config it was trained with.')
    raise StateDictMismatchError(' '.join(lines))


def _check_full(wrapper: nn.Module, state_dict: Optional[Mapping],
                prefix: str) -> None:
    """Refuse a full checkpoint's state dict that lacks host tensors: they
    would keep the model's values, which no record says are the right
    ones."""
    if state_dict is None:
        return
    missing = [
        prefix + key for key in wrapper.host_keys
        if prefix + key not in state_dict
    ]
    if not missing:
        return
    source = loading_source()
    more = ', ...' if len(missing) > LISTED else ''
    raise StateDictMismatchError(
        f'The full checkpoint{" " + source if source else ""} records the '
        f'{wrapper.trained_part} settings of a merged checkpoint, but lacks '
        f'{len(missing)} of the {len(wrapper.host_keys)} tensors of its '
        f'{type(wrapper.backbone).__name__} ({", ".join(missing[:LISTED])}'
        f'{more}): the file is damaged. Merge it again with '
        'tools/model_converters/merge_adapters.py.')


def verify_frozen_host(wrapper: nn.Module,
                       entry: Mapping,
                       state_dict: Optional[Mapping] = None,
                       prefix: str = '',
                       source: Optional[str] = None) -> None:
    """Compare the frozen host tensors with a :func:`frozen_host_entry`.

    A full checkpoint's record (:data:`SETTINGS_FORMAT`) has no
    fingerprints: its settings are compared, and ``state_dict`` must hold
    every host tensor.

    Args:
        wrapper (FrozenHostWrapper): The wrapper whose frozen host is
            compared.
        entry (Mapping): The entry, as saved.
        state_dict (Mapping, optional): A state dict being loaded; its
            host tensors (under ``prefix``) are compared instead of the
            model's. Defaults to None.
        prefix (str): The wrapper's prefix in ``state_dict`` (and in the
            checkpoint, for the errors). Defaults to ''.
        source (str, optional): The checkpoint file, for the errors where
            the record names none (its ``source``, which the checkpoint
            loader sets). Defaults to None: the file being loaded
            (:func:`~mmadaptformer.utils.adapter_only_fit.loading_source`).

    Raises:
        StateDictMismatchError: If the entry is not a record of this
            format, naming the file and its key.
        StateDictMismatchError: If the record is of another architecture
            (tensors the host lacks or has in other shapes), or the trained
            part was trained with other settings
            (:func:`check_trained_settings`), or it is a full checkpoint's
            and ``state_dict`` lacks host tensors.
        FrozenBackboneMismatchError: If any tensor differs, naming the
            checkpoint, the config key of the pretrained path and how
            many of the frozen tensors differ.
    """
    if isinstance(entry, Mapping) and entry.get('format') == SETTINGS_FORMAT:
        check_trained_settings(wrapper, entry)
        _check_full(wrapper, state_dict, prefix)
        return
    source = (entry.get('source') if isinstance(entry, Mapping) else
              None) or source or loading_source()
    expected, got = _recorded(entry)
    if expected is None:
        # A damaged file, not another backbone: no --pretrained mends it.
        raise StateDictMismatchError(
            f'{source + ": its" if source else "The"} state dict entry '
            f'{prefix}{FROZEN_HOST_KEY} is not a {FROZEN_HOST_FORMAT!r} '
            f'record with fingerprints (got {got}); it was not written by '
            'mmadaptformer, or was changed since. Give the checkpoint its '
            "training run wrote (its work dir's epoch_N.pth or best_*.pth).")
    check_trained_settings(wrapper, entry)
    host = _host_tensors(wrapper, state_dict, prefix)
    _check_architecture(wrapper, expected, host, source)
    differ = _differing(expected, host)
    if not differ:
        return
    trained_on = entry.get('pretrained')
    now = wrapper.host_source
    part = wrapper.trained_part
    if now and trained_on and is_local(now) and is_local(trained_on) and \
            same_file(now, trained_on):
        raise FrozenBackboneMismatchError(
            _trained_frozen_message(wrapper, source, differ, len(expected)),
            trained_on=trained_on,
            named_backbone=True)
    listed = (f'{", ".join(differ[:LISTED])}'
              f'{", ..." if len(differ) > LISTED else ""}')
    checkpoint = f'The {part}-only checkpoint{" " + source if source else ""}'
    if not now:
        # The cause is the unset key, not the tensors: say it first.
        lines = [
            f'{checkpoint} needs the frozen backbone its {part}s were '
            f'trained on, but the config key {wrapper.pretrained_key}, '
            'which names it, is not set (random weights): '
            f'{len(differ)} of {len(expected)} frozen tensors differ from '
            f'this model\'s ({listed}).'
        ]
    else:
        lines = [
            f'{checkpoint} was trained on a different frozen backbone: '
            f'{len(differ)} of {len(expected)} frozen tensors differ from '
            f'this model\'s ({listed}).',
            f'The frozen backbone comes from the config key '
            f'{wrapper.pretrained_key}, now {now}.'
        ]
    if trained_on:
        lines.append(f'The {part}s were trained on {trained_on}.')
    lines.append('Point the config key at the pretrained checkpoint the '
                 f'{part}s were trained on: on other weights they would '
                 'silently give wrong results.')
    raise FrozenBackboneMismatchError(' '.join(lines), trained_on=trained_on)


def _trained_frozen_message(wrapper: nn.Module, source: Optional[str],
                            differ: List[str], total: int) -> str:
    """Why frozen tensors differ from the record's although the model
    loaded the pretrained file the record names: they were trained."""
    part = wrapper.trained_part
    return (
        f'The {part}-only checkpoint{" " + source if source else ""} '
        f'records {len(differ)} of its {total} frozen tensors with other '
        f'values ({", ".join(differ[:LISTED])}'
        f'{", ..." if len(differ) > LISTED else ""}) than '
        f'{wrapper.host_source}, the pretrained file it names as the one its '
        f'{part}s were trained on, which this model loaded (config key '
        f'{wrapper.pretrained_key}). They were most likely trained as well '
        '(e.g. by AdapterHook extra_trainable) and left out when the '
        f'{part}-only checkpoint was made with a config that freezes them, '
        f'or {wrapper.host_source} has changed since. Make it again from '
        'the full checkpoint with the config it was trained with.')
