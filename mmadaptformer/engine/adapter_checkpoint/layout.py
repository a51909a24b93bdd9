# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a loaded checkpoint file must hold before its contents are read.

Each check refuses a file that is not laid out as MMEngine saves
checkpoints (or as an adapter-only checkpoint records its adapters) with an
error that names the file and what it found, instead of an
``AttributeError`` or a ``KeyError`` further on: a
:class:`CheckpointMetaError` for its ``meta`` (every reader of it, e.g.
``--resume``, ``tools/test.py``, ``init_model``, the converters), a
:class:`~mmadaptformer.utils.state_dict_check.StateDictMismatchError` for
the rest.
"""
from typing import Any, Callable, Mapping, Optional

import torch

from mmadaptformer.utils.adapter_record import (ADAPTER_META_KEY, WRITTEN_BY,
                                                CheckpointMetaError,
                                                check_adapter_record)
from mmadaptformer.utils.model_keys import HEAD_NAMES, NECK_NAME, held_keys
from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  listing)

__all__ = [
    'CheckpointMetaError', 'EXPECTED_CHECKPOINT', 'WRITTEN_BY',
    'RECORD_OUTCOMES', 'checkpoint_meta', 'checkpoint_state_dict',
    'check_tensor_entries', 'check_adapter_record', 'check_record_held'
]

#: What an MMEngine checkpoint is, for the errors about a loaded file that
#: is not one.
EXPECTED_CHECKPOINT = (
    "Expected an MMEngine checkpoint: a dict with a 'state_dict' dict of "
    "tensors by name and an optional 'meta' dict, as tools/train.py saves "
    'it.')
#: What would come of an adapter-only file without tensors its record
#: lists, by what its reader does with it: ``{what}`` is "a head" or "those
#: tensors", ``{its}`` and ``{one}`` agree with it. ``'load'`` is for a
#: reader that does not know (e.g. MMEngine's own load of our recipes).
RECORD_OUTCOMES = dict(
    evaluate='the model would be evaluated with {what} at {its} '
    'initialisation',
    train='the run would train {what} from {its} initialisation instead of '
    'going on from the trained {one}',
    write='the file written would hold {what} at {its} initialisation',
    load='a model loading it would take {what} from {its} initialisation, '
    'not the trained {one}')


def checkpoint_meta(checkpoint: Any,
                    filename: str,
                    expected: str,
                    purpose: str = 'load') -> dict:
    """The ``'meta'`` dict of a loaded checkpoint ({} when it has none).

    Args:
        checkpoint (Any): What :func:`safe_torch_load` returned.
        filename (str): The checkpoint's path, for the error.
        expected (str): What the caller takes, said after the problem.
        purpose (str): What the caller does with the checkpoint, a key of
            :data:`RECORD_OUTCOMES` (``'evaluate'``, ``'train'``,
            ``'write'``, ``'load'``), for :func:`check_record_held`'s
            error. Defaults to ``'load'``.

    Returns:
        dict: The meta.

    Raises:
        StateDictMismatchError: If ``checkpoint`` is not a dict; the message
            names ``filename``. Also if it is an adapter-only checkpoint whose
            state dict lacks tensors its record lists
            (:func:`check_record_held`): every reader of a checkpoint's
            meta (``AdapterHook``, ``init_model``, the converters) gets
            that refusal, before a model takes the tensors it lacks from
            its initialisation.
        CheckpointMetaError: If its ``'meta'`` is neither a dict nor None,
            naming ``filename`` and what it is.
    """
    if not isinstance(checkpoint, dict):
        raise StateDictMismatchError(
            f'{filename} is not a checkpoint dict: it holds a '
            f'{type(checkpoint).__name__}. {expected}')
    meta = checkpoint.get('meta')
    if meta is not None and not isinstance(meta, dict):
        raise CheckpointMetaError(
            f"{filename}: its 'meta' is a {type(meta).__name__}, not a "
            f'dict. {expected}')
    meta = meta or {}
    state = checkpoint.get('state_dict')
    if ADAPTER_META_KEY in meta and isinstance(state, Mapping):
        check_record_held(meta[ADAPTER_META_KEY], state, filename, purpose)
    return meta


def checkpoint_state_dict(checkpoint: Mapping,
                          filename: str,
                          expected: Optional[str] = EXPECTED_CHECKPOINT,
                          adapter_only: bool = False) -> Mapping:
    """The state dict of a loaded checkpoint, refused unless it is a dict
    keyed by name.

    A checkpoint without ``'state_dict'`` is a bare state dict, as MMEngine
    loads it, unless it is adapter-only.

    Args:
        checkpoint (Mapping): The loaded checkpoint.
        filename (str): The checkpoint's path, for the error.
        expected (str, optional): What the caller takes, said after the
            problem. None says it within the problem instead (a state dict
            "is a list, not a dict of tensors by name, as MMEngine saves
            it"). Defaults to :data:`EXPECTED_CHECKPOINT`.
        adapter_only (bool): The checkpoint is adapter-only, so it must
            have a ``'state_dict'``. Defaults to False.

    Returns:
        Mapping: The state dict.

    Raises:
        StateDictMismatchError: Naming ``filename``, where the state dict
            is (``it`` or ``its 'state_dict'``) and what is wrong with it.
    """
    bare = 'state_dict' not in checkpoint
    state = checkpoint if bare else checkpoint['state_dict']
    where = 'it' if bare else "its 'state_dict'"
    if bare and adapter_only:
        what = "has no 'state_dict'"
    elif not isinstance(state, Mapping):
        what = f'is a {type(state).__name__}, not a dict'
        if expected is None:
            what += ' of tensors by name, as MMEngine saves it'
    else:
        bad = next((k for k in state if not isinstance(k, str)), None)
        if bad is None:
            return state
        what = f'has a key that is not a name: {bad!r}'
    end = f' {expected}' if expected is not None else ''
    raise StateDictMismatchError(f'{filename}: {where} {what}.{end}')


def check_tensor_entries(
        state: Mapping,
        filename: str,
        where: str,
        expected: str,
        ignore: Callable[[str], bool] = lambda key: False) -> None:
    """Refuse a state dict with entries that are not tensors.

    Args:
        state (Mapping): The state dict.
        filename (str): Its checkpoint's path, for the error.
        where (str): What it is in the checkpoint, e.g. ``"its
            'state_dict'"``.
        expected (str): What the caller takes, said after the problem.
        ignore (Callable[[str], bool]): Keys whose entries are checked
            elsewhere (the frozen backbone's records).

    Raises:
        StateDictMismatchError: Naming the file and the first entries that
            are not tensors.
    """
    bad = [
        f'{k!r} ({type(v).__name__})' for k, v in state.items()
        if not (isinstance(v, torch.Tensor) or ignore(k))
    ]
    if bad:
        more = f' and {len(bad) - 5} more' if len(bad) > 5 else ''
        raise StateDictMismatchError(
            f'{filename}: {where} is not a state dict of tensors: it holds '
            f'{", ".join(bad[:5])}{more}. {expected}')


def check_record_held(info: Any,
                      state: Mapping,
                      filename: Optional[str],
                      purpose: str = 'load') -> None:
    """Refuse an adapter-only checkpoint whose state dict lacks tensors
    that its record (``meta[ADAPTER_META_KEY]['saved_keys']``) lists as
    saved: the file was changed after it was written (e.g. a state dict
    filtered by hand), and a model loading it would take those tensors
    from its initialisation (a random head, untrained adapters).

    A record that is not laid out as written is left to
    :func:`check_adapter_record`, which its readers call.

    Args:
        info (Any): The record, as loaded.
        state (Mapping): The checkpoint's state dict (a ``module.`` prefix
            is ignored, as MMEngine's load ignores it).
        filename (str, optional): The checkpoint's path, for the error.
        purpose (str): What the caller does with it, a key of
            :data:`RECORD_OUTCOMES`: the error says what would come of it.
            Defaults to ``'load'``.

    Raises:
        ValueError: If ``purpose`` is not a key of
            :data:`RECORD_OUTCOMES`.
        StateDictMismatchError: Naming the file and the keys it lacks; when
            they are all of the head (or neck), saying that it is a file
            saved without its head.
    """
    if purpose not in RECORD_OUTCOMES:
        raise ValueError(f'purpose must be one of {sorted(RECORD_OUTCOMES)}, '
                         f'not {purpose!r}')
    saved = info.get('saved_keys') if isinstance(info, dict) else None
    if not isinstance(saved, (list, tuple)):
        return
    held = held_keys(state)
    missing = [k for k in saved if isinstance(k, str) and k not in held]
    if not missing:
        return
    where = f'{filename or "The checkpoint"}: its state dict lacks ' \
        f'{len(missing)} of the {len(saved)} tensors that its record ' \
        f"(meta['{ADAPTER_META_KEY}']['saved_keys']) lists as saved " \
        f'({listing(missing)})'
    parts = {key.split('.', 1)[0] for key in missing}
    if parts <= set(HEAD_NAMES) | {NECK_NAME}:
        named = ' and '.join(f'{part}.*' for part in sorted(parts))
        outcome = RECORD_OUTCOMES[purpose].format(
            what='a head', its='its', one='one')
        raise StateDictMismatchError(
            f'{where}, all of its head ({named}). It is an adapter-only '
            'file without its head, which was removed after training wrote '
            'the file (e.g. a state dict filtered by hand), not another '
            f'adapter configuration; {outcome}. Give the adapter-only '
            "checkpoint its training run wrote (its work dir's epoch_N.pth "
            'or best_*.pth), which holds the head it trained.')
    outcome = RECORD_OUTCOMES[purpose].format(
        what='those tensors', its='their', one='ones')
    raise StateDictMismatchError(
        f'{where}. The file was changed after it was written (e.g. a state '
        'dict filtered by hand), not saved with another adapter '
        f'configuration; {outcome}. Give the adapter-only checkpoint its '
        "training run wrote (its work dir's epoch_N.pth or best_*.pth), or "
        'extract one again from the full checkpoint with '
        'tools/model_converters/extract_adapters.py.')
