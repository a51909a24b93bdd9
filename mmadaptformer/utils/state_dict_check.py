# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse checkpoints that do not fit the model, instead of part-loading.

MMEngine loads checkpoints non-strictly: ``load_from``, ``--resume``,
``tools/test.py`` and ``init_cfg=dict(type='Pretrained', ...)`` only warn
about missing and unexpected keys and skip tensors whose shapes differ, so a
checkpoint of another architecture (other depth, embed dims or number of
classes) loads in part and training or testing goes on with random weights.

:func:`~mmadaptformer.utils.state_dict_diff.diff_state_dict` finds what would
not load, by a dry run of the model's own loading code (its load-state-dict
hooks included, e.g. the AdaptFormer key routing or mmpretrain's
position-embedding resizing) on tensors of the ``meta`` device: nothing is
copied and nothing changes. :func:`check_state_dict` turns the differences
into one error that names the file, the missing and unexpected keys and
``key: checkpoint shape vs model shape`` for every mismatch, except for the
keys a fresh start legitimately initialises (:func:`fresh_keys`): the
adapters, the head and the final normalisation layers (not those inside the
blocks, see :func:`block_keys`), which a *training* load may lack; a
checkpoint given to *evaluate* the model must hold the head and final
norms as well (:func:`~mmadaptformer.utils.head_fit.check_holds_head`,
called by every evaluation path before or beside this check). Shape
mismatches are always errors. A
head whose classifier differs by its number of classes alone is named as
a ``num_classes`` mismatch, with its config key and both numbers
(:mod:`~mmadaptformer.utils.head_classes`); one whose position embedding
alone differs, with both token counts, the input sizes the model is built
for and the converter command for them
(:mod:`~mmadaptformer.utils.pos_embed_sizes`).
"""
import logging
import re
from collections import OrderedDict
from typing import (Callable, Dict, Iterable, List, Mapping, Optional,
                    Sequence, Set, Union)

import torch
from mmengine.logging import print_log
from torch import nn

from .control_characters import escape_controls
from .head_classes import head_classes_mismatch
from .load_refusal import LoadRefusal
from .missing_parts import missing_part_cause
from .model_keys import HEAD_NAMES, added_keys, block_keys, fresh_keys
from .model_unwrap import unwrapped_model
from .pos_embed_sizes import input_sized_cause, pos_embed_cause
from .prefix_shift import fitting_prefix_shift, prefix_shift_cause
from .recordless_adapters import recordless_adapters_cause
from .state_dict_diff import StateDictDiff, diff_state_dict
from .vit_modality import modality_mismatch_cause
from .weights_nesting import nested_weights_cause, tensor_keys

__all__ = [
    'HEAD_NAMES', 'StateDictMismatchError', 'block_keys', 'fresh_keys',
    'check_not_nested', 'check_state_dict', 'diagnose_modules', 'listing',
    'nested_weights_cause'
]

#: How many keys of each kind an error lists before it gives a count.
MAX_LISTED = 20


class StateDictMismatchError(RuntimeError, LoadRefusal):
    """A checkpoint does not fit the model it is loaded into."""


def _strip_prefix(state_dict: dict, prefix: str = 'module.') -> dict:
    """Drop a DDP ``module.`` prefix, as MMEngine's loading does."""
    out = OrderedDict((k[len(prefix):] if k.startswith(prefix) else k, v)
                      for k, v in state_dict.items())
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        out._metadata = metadata
    return out


def listing(keys: Sequence[str], limit: int = MAX_LISTED) -> str:
    """The first ``limit`` keys, comma-separated, and how many more.

    A key's control characters (a terminal's escape sequences, in a file
    made elsewhere) are shown escaped (:func:`.escape_controls`).
    """
    shown = ', '.join(escape_controls(key) for key in keys[:limit])
    more = len(keys) - limit
    return shown + (f', ... and {more} more' if more > 0 else '')


def _matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    compiled = [re.compile(p) for p in patterns]
    return lambda key: any(p.search(key) for p in compiled)


def _state_dict_names(model: nn.Module) -> Dict[str, str]:
    """Module path of each tensor (``named_parameters()`` and
    ``named_buffers()`` names, as torch's size-mismatch messages give them)
    -> its ``state_dict()`` key, where the two differ: a frozen-host
    wrapper's inner ``backbone.`` is in the first, not in the second.
    Matched by tensor identity; a tensor of a module registered under
    several parents (a shared rotary table) has a key under each of them,
    and each path gets its own (:func:`_key_of_path`)."""
    keys: Dict[int, List[str]] = {}
    for key, value in model.state_dict(keep_vars=True).items():
        if torch.is_tensor(value):
            keys.setdefault(id(value), []).append(key)
    names = {}
    for name, tensor in list(
            model.named_parameters(remove_duplicate=False)) + list(
                model.named_buffers(remove_duplicate=False)):
        candidates = keys.get(id(tensor))
        if not candidates:
            continue
        key = _key_of_path(name, candidates)
        if key != name:
            names[name] = key
    return names


def _key_of_path(name: str, candidates: List[str]) -> str:
    """The one of a tensor's state-dict keys ``candidates`` that names it
    at module path ``name``: the path itself, else the path without one
    ``backbone.`` (a wrapper's inner one), else one that ends the path;
    among equals, the last (a tensor of one module has one key)."""
    unwrapped = {
        name[:m.start()] + name[m.end():]
        for m in re.finditer(r'(?:^|(?<=\.))backbone\.', name)
    }

    def rank(key: str) -> int:
        if key == name:
            return 3
        if key in unwrapped:
            return 2
        return 1 if name.endswith('.' + key) else 0

    return max(reversed(candidates), key=rank)


def diagnose_modules(model: nn.Module, state_dict: Mapping,
                     source: Optional[str]) -> None:
    """Let each module that can name why a state dict does not fit it
    (a ``diagnose_state_dict(state_dict, prefix, source)`` method, e.g.
    the frozen-host wrappers: adapters of other settings, a record of
    another host) raise its own error first. Found by the method, never by
    type: this layer does not import the models.

    :func:`check_state_dict` calls it before its generic error, and so
    does :func:`~.adapter_only_fit.check_adapter_only_head` before it
    names another head: every path names such a cause in its one wording.

    Args:
        model (nn.Module): The (unwrapped) model.
        state_dict (Mapping): The state dict (of the whole model), as the
            load sees it; not changed.
        source (str, optional): The file it comes from, for the error.

    Raises:
        StateDictMismatchError: The cause a module names.
    """
    for name, module in model.named_modules():
        diagnose = getattr(type(module), 'diagnose_state_dict', None)
        if callable(diagnose):
            module.diagnose_state_dict(state_dict, f'{name}.' if name else '',
                                       source)


def _model_keys(model: nn.Module) -> Set[str]:
    """The keys of ``model.state_dict()`` (a DDP wrapper unwrapped)."""
    return set(unwrapped_model(model).state_dict(keep_vars=True))


def check_not_nested(state_dict: Mapping,
                     source: str,
                     model: Optional[nn.Module] = None) -> None:
    """Refuse, before anything loads, a checkpoint whose weights are nested
    under one key (:func:`~.weights_nesting.nested_weights_cause`, the one
    detection and wording of every path) and none at its top level:
    nothing of it would load.

    Args:
        state_dict (Mapping): What MMEngine would load: the checkpoint's
            ``'state_dict'``, else the checkpoint.
        source (str): The file, for the error.
        model (nn.Module, optional): The model it is for: weights named as
            its own get the advice to take them out, not to convert them.
            Defaults to None.

    Raises:
        StateDictMismatchError: Naming the file, the key and the command
            that makes it loadable.
    """
    if tensor_keys(state_dict):
        # Weights at its top level load; a dict of tensors beside them is
        # an unexpected key, which check_state_dict names as nested.
        return
    cause = nested_weights_cause(
        state_dict, model_keys=None if model is None else _model_keys(model))
    if cause is not None:
        raise StateDictMismatchError(
            f'{source} does not fit the model: {cause}. Nothing of it was '
            'loaded.')


def check_state_dict(model: nn.Module,
                     state_dict: dict,
                     source: str,
                     allow_missing: Sequence[str] = (),
                     allow_unexpected: Sequence[str] = (),
                     allow_fresh: bool = True,
                     hint: Union[str, Callable[[List[str]], str]] = '',
                     already_loaded: bool = False,
                     source_file: Optional[str] = None) -> StateDictDiff:
    """Raise unless ``state_dict`` loads into ``model`` in full.

    Shape mismatches are always errors. Missing keys are errors unless they
    are in :func:`fresh_keys` (with ``allow_fresh``) or match
    ``allow_missing``; the tolerated ones are logged. Unexpected keys are
    errors unless they match ``allow_unexpected``. A ``module.`` prefix (as
    DDP saves) is dropped first, as MMEngine does.

    Before the generic error, each module with a ``diagnose_state_dict``
    method (the frozen-host wrappers) may raise a more specific one (see
    :meth:`~mmadaptformer.models.FrozenHostWrapper.diagnose_state_dict`).
    Keys are named as in ``model.state_dict()`` and the checkpoint, never
    by module path.

    Args:
        model (nn.Module): The model (a DDP wrapper is unwrapped).
        state_dict (dict): The state dict to load.
        source (str): Where it comes from, e.g. the file and the config
            key; the error starts with it.
        allow_missing (Sequence[str]): Regular expressions of model keys
            that may be missing. Defaults to ().
        allow_unexpected (Sequence[str]): Regular expressions of state-dict
            keys the model may lack. Defaults to ().
        allow_fresh (bool): Tolerate missing :func:`fresh_keys`.
            Defaults to True.
        hint (str | Callable): A sentence appended to the error, or a
            function of the keys at fault (mismatched, missing and
            unexpected) that returns it, so that a hint is given only
            where it applies; none is given for weights nested under one
            key, whose cause says what to do. Defaults to ''.
        already_loaded (bool): MMEngine has already loaded what fits of it
            (non-strictly), e.g. during weight initialisation; the error
            says so instead of "Nothing of it was loaded".
            Defaults to False.
        source_file (str, optional): The file it was read from, which a
            command in the error names (the converter's that rebuilds a
            position embedding). Defaults to None: ``SRC``.

    Returns:
        StateDictDiff: The differences that were tolerated.

    Raises:
        StateDictMismatchError: If anything else does not fit.
    """
    model = unwrapped_model(model)
    state_dict = _strip_prefix(state_dict)
    diff = diff_state_dict(model, state_dict)
    fresh = fresh_keys(model) if allow_fresh else set()
    missing_ok = _matcher(allow_missing)
    unexpected_ok = _matcher(allow_unexpected)
    missing = [k for k in diff.missing if k not in fresh and not missing_ok(k)]
    unexpected = [k for k in diff.unexpected if not unexpected_ok(k)]
    if diff.mismatched or missing or unexpected or diff.errors:
        diagnose_modules(model, state_dict, source)
        names = _state_dict_names(model)
        diff.mismatched = [(names.get(key, key), ckpt, own)
                           for key, ckpt, own in diff.mismatched]
        missing = [names.get(key, key) for key in missing]
        shift = fitting_prefix_shift(model, state_dict, missing, unexpected,
                                     fresh, missing_ok)
        nested = nested_weights_cause(
            state_dict, unexpected, model_keys=_model_keys(model))
        classes = head_classes_mismatch(model, diff.mismatched)
        # The head's number of classes is all that differs.
        head_only = (
            classes is not None and not missing and not unexpected
            and len(classes.keys) == len(diff.mismatched))
        # The model's own keys, its frozen blocks lacking: an adapter-only
        # file that lost its record?
        recordless = recordless_adapters_cause(
            model, state_dict) if shift is None and missing and not (
                unexpected or diff.mismatched) else None
        # The same architecture, saved for another input size?
        sized = None if missing or unexpected else input_sized_cause(
            [key for key, _, _ in diff.mismatched])
        if nested is not None:
            cause = nested
        elif diff.mismatched and not (missing or unexpected) and all(
                key.endswith('pos_embed') for key, _, _ in diff.mismatched):
            key, ckpt, own = diff.mismatched[0]
            cause = pos_embed_cause(
                model,
                key,
                ckpt,
                own,
                with_head=any(
                    k.split('.', 1)[0] in HEAD_NAMES for k in state_dict),
                with_adapters=not added_keys(model).isdisjoint(state_dict),
                source_file=source_file)
        elif head_only:
            cause = ('its head was trained for another number of classes: '
                     f'{classes.describe()}. Build the model with '
                     f'{classes.config_key}={classes.checkpoint} to use '
                     'its head as trained')
        elif recordless is not None:
            # Its cause says what to give instead; no key list advice.
            cause, hint = recordless, ''
        elif shift is None and missing and not (unexpected or diff.mismatched):
            # A part of the blocks the file was saved without, or holes.
            cause = missing_part_cause(model, missing) or (
                'it lacks some of the model\'s tensors: the file is '
                'damaged, or was saved from a smaller architecture (e.g. '
                'fewer blocks)')
        elif shift is None and (other_kind := modality_mismatch_cause(
                model.state_dict(), state_dict)) is not None:
            # An image ViT's weights on a video ViT or the reverse.
            cause = other_kind
        elif sized is not None:
            cause = sized
        elif shift is None or diff.mismatched:
            cause = ('it was probably saved from another architecture '
                     '(other depth, embed dims or number of classes)')
        else:
            cause = prefix_shift_cause(shift)
        lines = [
            f'{source} does not fit the model: {cause}. ' +
            ('MMEngine has already loaded the parts that fit (it loads '
             'non-strictly); stopping before they are used.'
             if already_loaded else 'Nothing of it was loaded.')
        ]
        if classes is not None and not head_only:
            # Named apart: the rest does not fit either, whatever the head.
            lines.append('Its head was trained for another number of '
                         f'classes too: {classes.describe()}.')
        if diff.mismatched and not head_only:  # else named in the cause
            lines.append(f'{len(diff.mismatched)} keys with other shapes '
                         f'(key: checkpoint shape vs model shape):')
            lines += [
                f'  {key}: {tuple(ckpt)} vs {tuple(own)}'
                for key, ckpt, own in diff.mismatched[:MAX_LISTED]
            ]
            if len(diff.mismatched) > MAX_LISTED:
                lines.append(
                    f'  ... and {len(diff.mismatched) - MAX_LISTED} more')
        if missing:
            lines.append(f'{len(missing)} missing keys (in the model, not in '
                         f'the checkpoint): {listing(missing)}')
        if unexpected:
            lines.append(f'{len(unexpected)} unexpected keys (in the '
                         f'checkpoint, not in the model): '
                         f'{listing(unexpected)}')
        for error in diff.errors[:MAX_LISTED]:
            lines.append(f'error: {error}')
        if nested is not None:
            # Its cause says what to do; nothing of it loads, so the
            # caller's advice on keys (e.g. the allow lists) does not apply.
            hint = ''
        elif callable(hint):
            hint = hint([key for key, _, _ in diff.mismatched] + missing +
                        unexpected)
        if hint:
            lines.append(hint)
        raise StateDictMismatchError('\n'.join(lines))
    tolerated = [k for k in diff.missing if k not in missing]
    added = added_keys(model) if tolerated else set()
    others = [k for k in tolerated if k not in added]
    if len(others) < len(tolerated):
        # Expected of every host checkpoint, and of a test or inference
        # run whose own checkpoint loads these tensors next: not a warning.
        print_log(
            f'{source} does not hold the {len(tolerated) - len(others)} '
            f'adapter or prompt tensors this package adds; they keep their '
            f'initialisation unless a checkpoint loaded after it holds '
            f'them.',
            logger='current',
            level=logging.INFO)
    notes = []
    if others:
        notes.append(f'loading {len(others)} tensors from their '
                     f'initialisation (head, final norms or allowed): '
                     f'{listing(others)}')
    if diff.unexpected:
        notes.append(f'ignoring {len(diff.unexpected)} allowed unexpected '
                     f'keys: {listing(diff.unexpected)}')
    if notes:
        print_log(
            f'{source}: ' + '; '.join(notes),
            logger='current',
            level=logging.WARNING)
    return StateDictDiff(missing=tolerated, unexpected=list(diff.unexpected))
