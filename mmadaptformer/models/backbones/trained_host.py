# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which host backbone, and which settings, a trained part was trained
with.

The record a frozen-host wrapper saves with its trained part (see
:mod:`.frozen_host_record`) names the host's class under :data:`HOST_KEY`;
:func:`check_same_host` refuses a record of another host, e.g. the adapters
of an image ViT (mmpretrain) given to a video one (mmaction), before any
setting or tensor is compared: every one of them would differ, and none of
them is the cause. :func:`check_trained_settings` then refuses a model
whose trained part runs with other settings (a fixed adapter ``scale``,
the ``placement``, VPT's ``deep``) than the record's :data:`SETTINGS_KEY`.
"""
from typing import Mapping, Optional

from torch import nn

from ...utils.adapter_only_fit import loading_source
from ...utils.state_dict_check import StateDictMismatchError
from ..host_spec import qualname

__all__ = [
    'FROZEN_HOST_KEY', 'SETTINGS_KEY', 'HOST_KEY', 'SETTINGS_FORMAT',
    'check_same_host', 'check_trained_settings'
]

#: State-dict entry (under the wrapper's prefix) of an adapter-only
#: checkpoint that records the frozen backbone it was trained on.
FROZEN_HOST_KEY = 'frozen_host_fingerprints'
#: Key, in that entry, of the trained part's settings: name -> value.
SETTINGS_KEY = 'settings'
#: ``format`` of the record of a full checkpoint: the settings alone.
SETTINGS_FORMAT = 'mmadaptformer.trained_settings'
#: Key, in a wrapper's record, of the host's class (``module.qualname``).
HOST_KEY = 'host'


def _other_host(wrapper: nn.Module, entry: Mapping) -> Optional[str]:
    """The host a record was written on, if it is not this wrapper's:
    its :data:`HOST_KEY`, or for a record written before that was kept,
    ``'another host'`` when fewer than half of its fingerprinted tensors
    are keys of this host (other key names: another host, not merely
    another depth or width). None if it is this host or cannot be told."""
    own = qualname(type(wrapper.backbone))
    recorded = entry.get(HOST_KEY)
    if isinstance(recorded, str):
        return None if recorded == own else recorded
    fingerprints = entry.get('fingerprints')
    if not isinstance(fingerprints, Mapping) or not fingerprints:
        return None
    keys = set(wrapper.host_keys)
    held = sum(key in keys for key in fingerprints)
    return 'another host' if 2 * held < len(fingerprints) else None


def _shown_host(name: str) -> str:
    """``'mmaction VisionTransformer (mmaction.models...)'``."""
    if '.' not in name:
        return name
    return f'{name.split(".")[0]} {name.rsplit(".", 1)[1]} ({name})'


def check_same_host(wrapper: nn.Module,
                    entry: Mapping,
                    source: Optional[str] = None) -> None:
    """Refuse a record written on another host backbone, e.g. the
    adapters of an image ViT (mmpretrain) given to a video one (mmaction):
    before any setting or tensor is compared, since every one of them
    would differ and none of them is the cause.

    Args:
        wrapper (FrozenHostWrapper): The wrapper being loaded.
        entry (Mapping): Its :data:`FROZEN_HOST_KEY` entry, as saved.
        source (str, optional): The checkpoint file, for the error; by
            default the record's ``source`` or the file being loaded.

    Raises:
        StateDictMismatchError: Naming both hosts and the config to use.
    """
    if not isinstance(entry, Mapping):
        return
    other = _other_host(wrapper, entry)
    if other is None:
        return
    source = source or entry.get('source') or loading_source()
    part = wrapper.trained_part
    kind = 'full' if entry.get('format') == SETTINGS_FORMAT else \
        f'{part}-only'
    own = qualname(type(wrapper.backbone))
    if other == 'another host':
        keys = list(entry['fingerprints'])
        trained_on = ('another host backbone (its record names frozen '
                      f'tensors such as {", ".join(keys[:2])} that '
                      f'{type(wrapper.backbone).__name__} does not have)')
    else:
        trained_on = _shown_host(other)
    raise StateDictMismatchError(
        f'The {kind} checkpoint{" " + source if source else ""} is of '
        f'another model: its {part}s were trained on {trained_on}, but '
        f'this model\'s {type(wrapper).__name__} wraps {_shown_host(own)} '
        f'(model.backbone.backbone.type). Its {part}s cannot run on this '
        'backbone. Use the config it was trained with (the training work '
        'dir keeps a copy of it).')


def _shown(value) -> str:
    """A recorded setting as a config writes it: ``dict(type='Block',
    ...)`` rather than ``{'type': 'Block', ...}``."""
    if isinstance(value, Mapping):
        return 'dict(' + ', '.join(f'{k}={_shown(v)}'
                                   for k, v in value.items()) + ')'
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(_shown(v) for v in value) + ']'
    return repr(value)


def check_trained_settings(wrapper: nn.Module, entry: Mapping) -> None:
    """Refuse a model whose trained part runs with other settings than the
    record :func:`frozen_host_entry` wrote.

    A record of another host is refused first (:func:`check_same_host`):
    its settings differ too, but that is not the cause. Only the settings
    both the record and the model's ``trained_settings()`` name are
    compared: a record written before a setting was kept does not hold
    it, and loads.

    Args:
        wrapper (FrozenHostWrapper): The wrapper being loaded.
        entry (Mapping): Its :data:`FROZEN_HOST_KEY` entry, as saved.

    Raises:
        StateDictMismatchError: Naming both hosts, if the record's is
            another; else each setting that differs, its config key, the
            checkpoint's value and the model's.
    """
    check_same_host(wrapper, entry)
    recorded = entry.get(SETTINGS_KEY)
    if recorded is None:
        return
    source = entry.get('source') or loading_source()
    part = wrapper.trained_part
    kind = 'full' if entry.get('format') == SETTINGS_FORMAT else \
        f'{part}-only'
    where = f'The {kind} checkpoint{" " + source if source else ""}'
    if not isinstance(recorded, Mapping):
        raise StateDictMismatchError(
            f'{where}: its {FROZEN_HOST_KEY} entry keeps {SETTINGS_KEY!r} '
            f'as a {type(recorded).__name__}, not a dict of the {part} '
            'settings; it was not written by mmadaptformer.')
    differ = [
        f'{name} ({key}): checkpoint {_shown(recorded[name])}, this model '
        f'{_shown(value)}'
        for name, (key, value) in wrapper.trained_settings().items()
        if name in recorded and recorded[name] != value
    ]
    if differ:
        raise StateDictMismatchError(
            f'{where} was trained with other {part} settings than this '
            f'model\'s {type(wrapper).__name__}: {"; ".join(differ)}. Its '
            f'{part}s would silently give other results. Load it with the '
            'config it was trained with (the training work dir keeps a '
            'copy of it).')
