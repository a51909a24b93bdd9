# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The record an adapter-only checkpoint carries in its ``meta``: its key,
its layout (:func:`check_adapter_record`) and the error for one that is not
laid out as written (:class:`CheckpointMetaError`).

Every reader of the record checks it here: the adapter-only loads of the
engine and the APIs, the converters, and the check of MMEngine's loads into
a model without adapters
(:func:`~.adapter_only_fit.check_adapter_only_fits`), which otherwise took
a file with a damaged record for a checkpoint of another architecture.
A file whose record is missing altogether, but whose state dict still holds
the frozen backbone's record that only adapter-only checkpoints carry
(:func:`frozen_record_key`), is named as such too
(:func:`missing_record_error`).
"""
from typing import Any, Optional

from .checkpoint_source import frozen_records
from .control_characters import escape_controls
from .state_dict_check import StateDictMismatchError

__all__ = [
    'ADAPTER_META_KEY', 'CheckpointMetaError', 'WRITTEN_BY',
    'check_adapter_record', 'frozen_record_key', 'missing_record_error'
]

#: Where an adapter-only checkpoint describes itself in ``checkpoint['meta']``.
ADAPTER_META_KEY = 'adapter_checkpoint'
#: Where adapter-only checkpoints come from, for the error about a record
#: that is not one.
WRITTEN_BY = ('Adapter-only checkpoints are written by training with '
              'AdapterHook(adapter_only_checkpoint=True) or by '
              'tools/model_converters/extract_adapters.py.')


class CheckpointMetaError(StateDictMismatchError):
    """A checkpoint's ``meta`` is not laid out as MMEngine writes it (a
    dict), or its adapter-only record is not one.

    A problem of the file's ``meta``, not of its weights; a
    :class:`~mmadaptformer.utils.state_dict_check.StateDictMismatchError`
    still, as it was raised before, so that code which catches that goes
    on catching it.
    """


def check_adapter_record(info: Any,
                         filename: Optional[str],
                         expected: str = WRITTEN_BY) -> dict:
    """Refuse an adapter-only checkpoint's ``meta[ADAPTER_META_KEY]`` that
    is not laid out as :func:`make_adapter_checkpoint` writes it: a dict
    with ``saved_keys`` (a list of keys) and ``frozen_digest`` (a str).

    The readers of the record (:func:`complete_adapter_checkpoint`,
    :func:`mmadaptformer.apis.check_adapter_checkpoint`) take that layout
    for granted.

    Args:
        info (Any): The record, as loaded.
        filename (str, optional): The checkpoint's path, for the error.
        expected (str): Said after the problem. Defaults to
            :data:`WRITTEN_BY`.

    Returns:
        dict: ``info``.

    Raises:
        CheckpointMetaError: Naming ``filename`` and the meta key.
    """
    saved = info.get('saved_keys') if isinstance(info, dict) else None
    if isinstance(saved, (list, tuple)) and all(
            isinstance(k, str)
            for k in saved) and isinstance(info.get('frozen_digest'), str):
        return info
    raise CheckpointMetaError(
        f"{filename or 'The checkpoint'}: its meta['{ADAPTER_META_KEY}'] is "
        'not the record an adapter-only checkpoint carries (a dict with '
        f'saved_keys and frozen_digest), but {info!r:.200}. {expected}')


def frozen_record_key(checkpoint: Any) -> Optional[str]:
    """The state-dict key of the first of the frozen backbone's records
    (:func:`~.checkpoint_source.frozen_records`), e.g.
    ``'backbone.frozen_host_fingerprints'``; None if it holds none.

    Args:
        checkpoint (Any): A loaded checkpoint: a dict with a
            ``'state_dict'``, or a bare state dict.
    """
    return next(iter(frozen_records(checkpoint)), None)


def missing_record_error(checkpoint: dict, filename: Optional[str], key: str,
                         expected: str) -> CheckpointMetaError:
    """The error for an adapter-only checkpoint without its
    ``meta[ADAPTER_META_KEY]`` record, whose state dict holds the frozen
    backbone's record at ``key`` (:func:`frozen_record_key`).

    Args:
        checkpoint (dict): The loaded checkpoint.
        filename (str, optional): Its path, for the error.
        key (str): The state-dict key of the frozen backbone's record.
        expected (str): Said after the problem: what to give instead.

    Returns:
        CheckpointMetaError: Naming ``filename``, what is missing and
        ``key``.
    """
    meta = checkpoint.get('meta')
    if meta is None:
        lacks = 'has no meta'
    elif not isinstance(meta, dict):
        lacks = f'has a meta that is a {type(meta).__name__}, not a dict'
    else:
        lacks = f"has no meta['{ADAPTER_META_KEY}'] record"
    return CheckpointMetaError(
        f"{filename or 'The checkpoint'} {lacks}, but its state dict holds "
        f'{escape_controls(str(key))}, the record of the frozen backbone '
        'that adapter-only '
        'checkpoints carry: it is an adapter-only checkpoint whose record '
        'is missing (its meta was lost or replaced after it was written, '
        f'e.g. by saving its state dict again). {expected}')
