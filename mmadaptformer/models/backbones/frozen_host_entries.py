# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Write the record of the frozen backbone a trained part was trained on.

An adapter-only checkpoint keeps, under ``<wrapper prefix>`` +
:data:`~.trained_host.FROZEN_HOST_KEY`, the per-tensor fingerprints (see
:mod:`mmadaptformer.utils.fingerprint`) of each frozen-host wrapper's
frozen host, its class and its trained settings (:func:`frozen_host_entry`,
:func:`frozen_host_entries`); a full (merged) checkpoint keeps the settings
alone (:func:`trained_settings_entries`). :mod:`.frozen_host_record` reads
these records back and compares a model with them.
"""
from typing import Dict, Iterator, Mapping, Tuple

from torch import nn

from ...utils.adapter_only_fit import CHECKS_OWN_LOADS
from ...utils.checkpoint_source import FROZEN_HOST_FORMAT
from ..host_spec import qualname
from .trained_host import (FROZEN_HOST_KEY, HOST_KEY, SETTINGS_FORMAT,
                           SETTINGS_KEY)

__all__ = [
    'LISTED', 'as_fingerprint', 'frozen_host_entry', 'frozen_host_entries',
    'trained_settings_entries'
]

#: How many keys or tensors an error about the frozen host's record lists
#: by name (here, and in :mod:`.frozen_host_record`).
LISTED = 5


def as_fingerprint(value) -> tuple:
    """A fingerprint as :func:`tensor_fingerprint` returns it, whatever
    container types a checkpoint round trip gave it."""
    shape, dtype, total, weighted = value
    return tuple(int(d) for d in shape), str(dtype), int(total), int(weighted)


def frozen_host_entry(wrapper: nn.Module,
                      fingerprints: Mapping[str, tuple]) -> dict:
    """The :data:`FROZEN_HOST_KEY` entry of an adapter-only checkpoint.

    Args:
        wrapper (FrozenHostWrapper): The wrapper whose frozen host the
            fingerprints are of.
        fingerprints (Mapping[str, tuple]): Fingerprints (see
            :mod:`mmadaptformer.utils.fingerprint`) of the frozen host
            tensors the trainable parts were trained on, keyed as in
            ``wrapper.host_keys``.

    Returns:
        dict: ``format``, ``version``, ``fingerprints``, ``pretrained``
        (the host's checkpoint path, if known), :data:`HOST_KEY` (the
        host's class) and :data:`SETTINGS_KEY` (the value of each of
        ``wrapper.trained_settings()``).
    """
    unknown = sorted(set(fingerprints) - set(wrapper.host_keys))
    if unknown:
        raise KeyError(
            f'{type(wrapper).__name__}: fingerprints of keys the host does '
            f'not have: {unknown[:LISTED]}; expected keys of '
            f'{type(wrapper.backbone).__name__}.state_dict().')
    entry = dict(
        format=FROZEN_HOST_FORMAT,
        version=1,
        fingerprints={k: as_fingerprint(v)
                      for k, v in fingerprints.items()},
        pretrained=wrapper.host_source)
    entry[HOST_KEY] = qualname(type(wrapper.backbone))
    entry[SETTINGS_KEY] = _settings(wrapper)
    return entry


def _settings(wrapper: nn.Module) -> dict:
    """The value of each of ``wrapper.trained_settings()``."""
    return {
        name: value
        for name, (_, value) in wrapper.trained_settings().items()
    }


def _frozen_host_wrappers(model: nn.Module) -> Iterator[Tuple[str, nn.Module]]:
    """``(state-dict prefix, module)`` of every frozen-host wrapper in a
    model: the modules that check their own loads (see
    :data:`~mmadaptformer.utils.adapter_only_fit.CHECKS_OWN_LOADS`)."""
    for name, module in model.named_modules():
        if getattr(module, CHECKS_OWN_LOADS, False):
            yield (f'{name}.' if name else ''), module


def frozen_host_entries(model: nn.Module,
                        fingerprints: Mapping[str, tuple]) -> Dict[str, dict]:
    """The :data:`FROZEN_HOST_KEY` entries of every frozen-host wrapper in a
    model (the modules that check their own loads, see
    :data:`~mmadaptformer.utils.adapter_only_fit.CHECKS_OWN_LOADS`).

    Args:
        model (nn.Module): The unwrapped model.
        fingerprints (Mapping[str, tuple]): Fingerprints of the frozen
            tensors, keyed as in ``model.state_dict()``.

    Returns:
        dict[str, dict]: State-dict key -> entry, for each wrapper.
    """
    entries = {}
    for prefix, module in _frozen_host_wrappers(model):
        host = set(module.host_keys)
        own = {
            key[len(prefix):]: value
            for key, value in fingerprints.items()
            if key.startswith(prefix) and key[len(prefix):] in host
        }
        if own:
            entries[prefix + FROZEN_HOST_KEY] = frozen_host_entry(module, own)
    return entries


def trained_settings_entries(model: nn.Module) -> Dict[str, dict]:
    """The :data:`FROZEN_HOST_KEY` entries of a full checkpoint of ``model``
    (e.g. a merged one): the trained settings of each frozen-host wrapper
    (see :func:`frozen_host_entries`), in a record of format
    :data:`SETTINGS_FORMAT`, without fingerprints.

    Args:
        model (nn.Module): The unwrapped model.

    Returns:
        dict[str, dict]: State-dict key -> entry, for each wrapper.
    """
    return {
        prefix + FROZEN_HOST_KEY: {
            'format': SETTINGS_FORMAT,
            'version': 1,
            # None needed: the checkpoint holds the frozen tensors.
            'fingerprints': {},
            HOST_KEY: qualname(type(module.backbone)),
            SETTINGS_KEY: _settings(module)
        }
        for prefix, module in _frozen_host_wrappers(model)
    }
