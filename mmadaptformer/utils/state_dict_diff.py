# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Find what would not load from a state dict into a model.

:func:`diff_state_dict` finds the missing, unexpected and shape-mismatched
keys by a dry run of the model's own loading code (its load-state-dict hooks
included, e.g. the AdaptFormer key routing or mmpretrain's position-embedding
resizing) on tensors of the ``meta`` device: nothing is copied and nothing
changes. A hook that needs the values (mmpretrain's BEiT resizes a relative
position bias table of another window size by NumPy) gets the checkpoint's
own tensors instead, with every in-place change to them and to the model's
tensors turned into a no-op (:class:`~.dry_run.ReadOnly`); the package's
own load hooks know either run by :func:`~.dry_run.in_dry_run`.
:func:`~mmadaptformer.utils.state_dict_check.check_state_dict` decides which
of the differences are errors.
"""
import contextlib
import itertools
import logging
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import List, Optional, Set, Tuple

import torch
from mmengine.logging import print_log
from torch import nn

from .dry_run import ReadOnly, dry_run
from .load_refusal import LoadRefusal
from .model_keys import index_keys
from .model_unwrap import unwrapped_model

__all__ = ['StateDictDiff', 'diff_state_dict', 'size_mismatch']

_SIZE_MISMATCH = re.compile(
    r'size mismatch for (?P<key>\S+): copying a param with shape '
    r'torch\.Size\((?P<ckpt>\[[^\]]*\])\) from checkpoint, the shape in '
    r'current model is torch\.Size\((?P<model>\[[^\]]*\])\)')


@dataclass
class StateDictDiff:
    """What would not load from a state dict into a model.

    Attributes:
        missing (list[str]): Model keys the state dict lacks, besides the
            model's integer buffers (:func:`~.model_keys.index_keys`).
        unexpected (list[str]): State-dict keys the model lacks.
        mismatched (list[tuple]): ``(key, checkpoint shape, model shape)``
            for keys in both with different shapes.
        errors (list[str]): Other errors the model's loading code raised.
    """
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)


def _shape(text: str) -> tuple:
    return tuple(int(d) for d in re.findall(r'-?\d+', text))


def size_mismatch(message: str) -> Optional[Tuple[str, tuple, tuple]]:
    """``(key, checkpoint shape, model shape)`` of torch's error message
    for a tensor of another shape (which a non-strict load, MMEngine's,
    collects and only logs); None for any other message."""
    match = _SIZE_MISMATCH.search(message)
    if match is None:
        return None
    return match['key'], _shape(match['ckpt']), _shape(match['model'])


def _meta_copy(state_dict: dict) -> dict:
    out = OrderedDict((k, torch.empty(v.shape, dtype=v.dtype, device='meta'
                                      ) if torch.is_tensor(v) else v)
                      for k, v in state_dict.items())
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        out._metadata = OrderedDict(metadata)
    return out


def _shallow_copy(state_dict: dict) -> dict:
    """A new dict of the same tensors, for hooks that pop or replace
    keys."""
    out = OrderedDict(state_dict)
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        out._metadata = OrderedDict(metadata)
    return out


def _dry_run(model: nn.Module,
             state_dict: dict,
             meta: bool = True) -> StateDictDiff:
    """Run MMEngine's loading loop on meta copies of the tensors (or, with
    ``meta=False``, on the tensors themselves, with ``model`` and them
    read-only) and record the result."""
    from torch.nn.modules.module import _IncompatibleKeys
    if meta:
        state_dict = _meta_copy(state_dict)
        read_only = contextlib.nullcontext()
    else:
        state_dict = _shallow_copy(state_dict)
        read_only = ReadOnly(
            itertools.chain(
                model.parameters(), model.buffers(),
                (v for v in state_dict.values() if torch.is_tensor(v))))
    metadata = getattr(state_dict, '_metadata', None)
    missing: List[str] = []
    unexpected: List[str] = []
    messages: List[str] = []
    # Keys the model's own load pre-hooks delete from the state dict: it
    # re-creates those tensors itself (e.g. Swin V2's relative position
    # tables), so they are not missing from the checkpoint.
    dropped: Set[str] = set()

    def load(module: nn.Module, local: dict, prefix: str = '') -> None:
        # As MMEngine's loop: through model and test-time wrappers.
        module = unwrapped_model(module)
        local_metadata = {} if metadata is None else metadata.get(
            prefix[:-1], {})
        before = set(local)
        module._load_from_state_dict(local, prefix, local_metadata, True,
                                     missing, unexpected, messages)
        dropped.update(before - set(local))
        for name, child in module._modules.items():
            if child is not None:
                child_prefix = prefix + name + '.'
                load(child, {
                    k: v
                    for k, v in local.items() if k.startswith(child_prefix)
                }, child_prefix)
        incompatible = _IncompatibleKeys(missing, unexpected)
        for hook in module._load_state_dict_post_hooks.values():
            hook(module, incompatible)

    with warnings.catch_warnings(), dry_run(), read_only:
        warnings.simplefilter('ignore')
        load(model, state_dict)
    # The integer buffers (index tables, batch-norm counters) that the
    # model keeps its own of: nothing learnt is missing.
    spare = index_keys(model)
    diff = StateDictDiff(
        missing=[k for k in missing if k not in spare and k not in dropped],
        unexpected=list(unexpected))
    for message in messages:
        mismatch = size_mismatch(message)
        if mismatch is not None:
            diff.mismatched.append(mismatch)
        elif 'meta tensor' not in message:
            # The copy from a meta tensor fails by design; anything else
            # is a real error of the model's loading code.
            diff.errors.append(message)
    return diff


def _plain_diff(model: nn.Module, state_dict: dict) -> StateDictDiff:
    """Compare keys and shapes without running the model's load hooks."""
    own = model.state_dict()
    spare = index_keys(model)
    diff = StateDictDiff(
        missing=[k for k in own if k not in state_dict and k not in spare],
        unexpected=[
            k for k, v in state_dict.items()
            if k not in own and torch.is_tensor(v)
        ])
    for key, value in state_dict.items():
        if key in own and torch.is_tensor(value) and \
                tuple(value.shape) != tuple(own[key].shape):
            diff.mismatched.append(
                (key, tuple(value.shape), tuple(own[key].shape)))
    return diff


def diff_state_dict(model: nn.Module, state_dict: dict) -> StateDictDiff:
    """Find what would not load from ``state_dict`` into ``model``.

    The model's own loading code runs (so its load-state-dict hooks rename
    or resize keys as in a real load) on ``meta`` copies of the tensors:
    the model's weights do not change. Where a hook fails on them (it
    reads the values, e.g. BEiT's relative position resizing), it runs
    again on the checkpoint's own tensors, every in-place change to them
    and to the model's tensors a no-op. The package's own refusals raised
    there (a :class:`~.load_refusal.LoadRefusal`, e.g. adapters trained on
    another frozen backbone) are raised as the real load would raise them.
    If that fails too (a hook of another library that fails on these
    values, as the real load would), keys and shapes are compared
    directly; that is logged as a
    warning when this plainer comparison finds differences, which the
    hooks might have resolved (a resized position embedding, renamed
    keys), and the caller may refuse the checkpoint for them: the warning
    says why the diagnosis is the plainer one. Without differences it is
    logged at DEBUG: the real load runs the hooks on real tensors anyway.

    Args:
        model (nn.Module): The model (a DDP wrapper is unwrapped).
        state_dict (dict): The state dict, with the model's key layout.

    Returns:
        StateDictDiff: Missing, unexpected and shape-mismatched keys.

    Raises:
        LoadRefusal: The package's refusal of the state dict, from the
            model's loading code.
    """
    model = unwrapped_model(model)
    try:
        return _dry_run(model, state_dict)
    except LoadRefusal:
        raise
    except Exception as e:  # noqa: B902 -- any hook may fail on meta
        on_meta = e
    print_log(
        f'The model\'s loading code needs the checkpoint\'s values '
        f'({type(on_meta).__name__} on meta tensors: {on_meta}); running it '
        f'on them, the model and the checkpoint read-only.',
        logger='current',
        level=logging.DEBUG)
    try:
        return _dry_run(model, state_dict, meta=False)
    except LoadRefusal:
        raise
    except Exception as e:  # noqa: B902 -- a hook of another library
        failure = e
    diff = _plain_diff(model, state_dict)
    found = diff.missing or diff.unexpected or diff.mismatched
    print_log(
        f'Checking the state dict with the model\'s own loading code '
        f'failed ({type(failure).__name__}: {failure}); comparing keys and '
        f'shapes directly instead' +
        (', without what its load hooks would change.' if found else '.'),
        logger='current',
        level=logging.WARNING if found else logging.DEBUG)
    return diff
