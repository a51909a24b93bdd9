# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint never loads into a model without its adapters.

An adapter-only checkpoint holds what trained (adapters, head, trained
norms) and a record of the frozen backbone, not the backbone. Given to a
model that lacks those adapters, e.g. mmaction2's ``init_recognizer`` or
``tools/test.py`` with the stock config instead of the AdaptFormer one,
MMEngine's non-strict load took the head, warned about the rest, and the
model ran on whatever backbone it was built with (random, for the
Inferencers). A model with a frozen-host wrapper refuses a wrong checkpoint
in its own load path; a stock model has no such path, so
:func:`guard_checkpoint_to_model` puts the check where every MMEngine load
of a whole checkpoint into a model passes: ``_load_checkpoint_to_model``,
which ``load_checkpoint``, the ``Runner``, the strategies and the
Inferencers call. It refuses before anything is loaded.

The same place checks that a checkpoint given as a whole classifier's
weights fits its head (:func:`check_adapter_only_head` for an adapter-only
one, then :func:`~.head_fit.check_whole_model_fits`), except in the loads
of MMEngine's training machinery, which are transfers (see
:mod:`.head_fit` for the rule).
"""
import contextlib
import contextvars
import functools
import sys
import weakref
from typing import Any, Iterator, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from .adapter_record import (ADAPTER_META_KEY, check_adapter_record,
                             frozen_record_key, missing_record_error)
from .checkpoint_loading import safe_torch_load
from .classifier_parts import evaluated_parts, head_part_keys
from .head_fit import (DEFAULT_REVISE_KEYS, check_whole_model_fits,
                       revised_state_dict)
from .model_unwrap import unwrapped_model
from .state_dict_check import StateDictMismatchError, diagnose_modules

__all__ = [
    'ADAPTER_META_KEY', 'CHECKS_OWN_LOADS', 'check_adapter_only_fits',
    'check_adapter_only_head', 'remember_source', 'loading', 'loading_source',
    'loading_adapter_only', 'guard_checkpoint_to_model', 'is_adapter_only_file'
]

#: Class attribute, True on a module that checks every state dict loaded
#: into it in its own load path (the frozen-host wrappers, which name the
#: adapters of other settings precisely): a model with one is left to it.
CHECKS_OWN_LOADS = 'checks_own_loads'
#: How many keys an error lists by name.
_LISTED = 5
#: The modules that bind MMEngine's ``_load_checkpoint_to_model`` by name,
#: and whether their loads are training transfers: ``mmengine.runner.
#: runner``'s binding is called by ``Runner.load_checkpoint`` alone
#: (``load_from``, ``resume``).
_BINDINGS = (('mmengine.runner.checkpoint', False),
             ('mmengine.runner.runner', True), ('mmengine.infer.infer', False))
_GUARD_ATTR = '__mmadaptformer_guard__'
# The meta of the last checkpoint read, and its file: the load into a
# model names the file it came from.
_SOURCE: Optional[Tuple[Any, str]] = None
# The first tensor of the last checkpoint read, held weakly, and its file:
# names the file of a checkpoint without a ``meta`` (a bare state dict), and
# of the state dict a strategy pops from a checkpoint.
_SOURCE_TENSOR: Optional[Tuple[weakref.ref, str]] = None
# The checkpoint being loaded into a model, while it loads: its file (if
# known) and whether it is adapter-only.
_LOADING: contextvars.ContextVar[Optional[Tuple[Optional[str], bool]]] = \
    contextvars.ContextVar('mmadaptformer_loading', default=None)


def adapter_only_info(checkpoint: Any) -> Optional[dict]:
    """The ``meta[ADAPTER_META_KEY]`` of an adapter-only checkpoint; None
    for any other object."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    info = meta.get(ADAPTER_META_KEY) if isinstance(meta, dict) else None
    return info if isinstance(info, dict) else None


def _first_tensor(checkpoint: Any) -> Optional[torch.Tensor]:
    """The first tensor of a checkpoint's state dict (of a bare state dict
    itself), as ``_load_checkpoint_to_model`` finds the state dict."""
    if not isinstance(checkpoint, dict):
        return None
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict):
        return None
    return next((v for v in state.values() if torch.is_tensor(v)), None)


def remember_source(checkpoint: Any, filename: str) -> None:
    """Note the file a checkpoint was read from, for the errors of its load
    into a model (:func:`loading_source`): by its ``meta`` dict, and by the
    first tensor of its state dict (held weakly). Other objects are
    ignored."""
    global _SOURCE, _SOURCE_TENSOR
    if isinstance(checkpoint, dict) and isinstance(
            checkpoint.get('meta'), dict):
        _SOURCE = (checkpoint['meta'], filename)
    first = _first_tensor(checkpoint)
    if first is not None:
        _SOURCE_TENSOR = (weakref.ref(first), filename)


def _source_of(checkpoint: Any) -> Optional[str]:
    if _SOURCE is not None and isinstance(checkpoint, dict) and \
            checkpoint.get('meta') is _SOURCE[0]:
        return _SOURCE[1]
    first = _first_tensor(checkpoint)
    if first is not None and _SOURCE_TENSOR is not None and \
            _SOURCE_TENSOR[0]() is first:
        return _SOURCE_TENSOR[1]
    return None


def loading_source() -> Optional[str]:
    """The file of the checkpoint MMEngine is loading into a model, while
    it loads (inside ``_load_checkpoint_to_model``), if it was read through
    ``CheckpointLoader`` with a ``meta``; None otherwise. A model's own load
    checks name it in their errors: they see only the state dict."""
    current = _LOADING.get()
    return None if current is None else current[0]


def loading_adapter_only() -> bool:
    """Whether the checkpoint being loaded into a model (see
    :func:`loading`) is adapter-only by its meta, whatever its state dict
    holds: an old one without the frozen backbone's record may hold many
    backbone tensors (a block trained through ``extra_trainable``)."""
    current = _LOADING.get()
    return bool(current and current[1])


@contextlib.contextmanager
def loading(checkpoint: Any, source: Optional[str] = None) -> Iterator[None]:
    """Make ``checkpoint`` the one being loaded into a model inside the
    scope (:func:`loading_source`, :func:`loading_adapter_only`).

    Args:
        checkpoint (Any): The loaded checkpoint.
        source (str, optional): Its file; by default the one it was read
            from, if :func:`remember_source` saw it.
    """
    token = _LOADING.set(
        (source or _source_of(checkpoint), adapter_only_info(checkpoint)
         is not None))
    try:
        yield
    finally:
        _LOADING.reset(token)


def check_adapter_only_fits(model: nn.Module,
                            checkpoint: Any,
                            source: Optional[str] = None) -> None:
    """Refuse an adapter-only checkpoint whose trained tensors the model
    does not have. Any other checkpoint passes, and so does any model with
    a module that checks its own loads (:data:`CHECKS_OWN_LOADS`).

    Args:
        model (nn.Module): The (unwrapped) model to load it into.
        checkpoint (Any): The loaded checkpoint.
        source (str, optional): Its file, for the error; by default the
            file it was read from, if :func:`remember_source` saw it.

    Raises:
        CheckpointMetaError: If its record (``meta[ADAPTER_META_KEY]``) is
            missing while its state dict holds the frozen backbone's record
            (:func:`~.adapter_record.frozen_record_key`), or is
            damaged (:func:`~.adapter_record.check_adapter_record`): named
            as such, not as a checkpoint of another architecture, with the
            file to give instead and the config to use.
        StateDictMismatchError: Naming the file, the tensors the model
            lacks and the config to use.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    record = meta.get(ADAPTER_META_KEY) if isinstance(meta, dict) else None
    if any(getattr(m, CHECKS_OWN_LOADS, False) for m in model.modules()):
        return
    advice = ('Give the adapter-only '
              "checkpoint its training run wrote (its work dir's epoch_N.pth "
              'or best_*.pth), or extract one again from the full checkpoint '
              'with tools/model_converters/extract_adapters.py, and load it '
              'with the config it was trained with (the training run\'s work '
              f'dir keeps a copy of it): the model {type(model).__name__} has '
              'no adapters or prompts. Nothing of it was loaded.')
    if record is None:
        # Its record of the frozen backbone says what it is all the same;
        # the load would call it a checkpoint of another architecture.
        key = frozen_record_key(checkpoint)
        if key is not None:
            raise missing_record_error(checkpoint, source
                                       or _source_of(checkpoint), key, advice)
        return
    info = check_adapter_record(
        record, source or _source_of(checkpoint),
        'It is an adapter-only checkpoint whose record is damaged (the '
        'file was changed after it was written). ' + advice)
    saved = list(info.get('saved_keys') or [])
    keys = set(model.state_dict())
    absent = [key for key in saved if key not in keys]
    if not absent:
        return
    more = ', ...' if len(absent) > _LISTED else ''
    raise StateDictMismatchError(
        f'{source or _source_of(checkpoint) or "The checkpoint"} is an '
        'adapter-only checkpoint '
        '(it holds what trained, not the frozen backbone), and the model '
        f'{type(model).__name__} lacks {len(absent)} of its {len(saved)} '
        f'trained tensors ({", ".join(absent[:_LISTED])}{more}): the '
        'backbone would run with weights the checkpoint does not hold. Use '
        'the config it was trained with (the training run\'s work dir keeps '
        'a copy of it).')


def check_adapter_only_head(
        model: nn.Module,
        checkpoint: Any,
        source: Optional[str] = None,
        revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS) -> None:
    """Refuse to evaluate an adapter-only checkpoint of a model with
    another head or neck: the trained keys its record lists
    (``saved_keys``) against the model's head and neck keys, which an
    adapter-only checkpoint holds whole (they always train).

    A frozen-host wrapper checks its own loads, but sees the backbone's
    keys alone; the head check that came next
    (:func:`~.head_fit.check_whole_model_fits`) took the file of another
    run (mmpretrain's ``LinearClsHead`` or ``VisionTransformerClsHead``
    where the model has the recipes' ``BNLinearHead``) for "a backbone
    checkpoint", to be given as ``--pretrained``. A record without
    ``saved_keys`` (older files) is not checked, nor a file whose state
    dict lacks keys its record lists (the later checks name those).

    Before it names another head, the modules that name their own causes
    (:func:`~.state_dict_check.diagnose_modules`: the frozen-host
    wrappers) do, as the wrapper's load, ``tools/test.py`` and
    :func:`~mmadaptformer.apis.init_model` name them. This check runs
    before the load, so the adapters of the other toolbox's ViT (an image
    model's adapter-only file given to mmaction2's ``init_recognizer``
    with a video config, or the reverse to mmpretrain's ``get_model``,
    whose heads differ too: ``head.*`` against ``cls_head.*``) were
    refused as "an adapter-only checkpoint of a model with another head"
    with the head keys missing, while the inference API said their host
    backbone was another toolbox's ViT.

    Args:
        model (nn.Module): The (unwrapped) model to load it into; any
            module that is not a whole classifier passes.
        checkpoint (Any): The loaded checkpoint.
        source (str, optional): Its file, for the error; by default the
            file it was read from, if :func:`remember_source` saw it.
        revise_keys (Sequence[tuple]): The load's ``(pattern,
            replacement)`` for the state dict's keys, for the modules'
            causes. Defaults to MMEngine's (a ``module.`` prefix dropped).

    Raises:
        StateDictMismatchError: Naming the file and a module's cause (e.g.
            the host backbone the adapters were trained on, and the one
            the model wraps), else the head keys on each side; and the
            config to use.
    """
    info = adapter_only_info(checkpoint)
    saved = info.get('saved_keys') if info is not None else None
    parts = head_part_keys(model)
    if not isinstance(saved, (list, tuple)) or not parts:
        return
    saved = set(saved)
    prefixes = tuple({key.split('.', 1)[0] + '.' for key in parts})
    lacking = [key for key in parts if key not in saved]
    other = sorted(
        key for key in saved
        if key.startswith(prefixes) and key not in set(parts))
    if not lacking and not other:
        return
    source = source or _source_of(checkpoint)
    # A state dict that is no mapping is named by the load's own checks.
    if isinstance(checkpoint.get('state_dict', checkpoint), Mapping):
        diagnose_modules(model, revised_state_dict(checkpoint, revise_keys),
                         source)
    found = []
    if other:
        found.append(f'{len(other)} trained tensors there that the model '
                     f'lacks ({", ".join(other[:_LISTED])}'
                     f'{", ..." if len(other) > _LISTED else ""})')
    if lacking:
        found.append(f'{"none" if len(lacking) == len(parts) else "not all"}'
                     f' of the model\'s: {len(lacking)} missing '
                     f'({", ".join(lacking[:_LISTED])}'
                     f'{", ..." if len(lacking) > _LISTED else ""})')
    raise StateDictMismatchError(
        f'{source or "The checkpoint"} is an '
        'adapter-only checkpoint of a model with another '
        f'{evaluated_parts(model, parts)}: its record lists '
        f'{" and ".join(found)}, so the model would predict with them at '
        'their initialisation. Use the config it was trained with (the '
        'training run\'s work dir keeps a copy of it). Nothing of it was '
        'loaded.')


def _revise_keys(args: tuple, kwargs: dict) -> Any:
    """The ``revise_keys`` of a ``_load_checkpoint_to_model(model,
    checkpoint, strict, logger, revise_keys)`` call."""
    if 'revise_keys' in kwargs:
        return kwargs['revise_keys']
    return args[2] if len(args) > 2 else DEFAULT_REVISE_KEYS


def _called_by(frame, callers: frozenset, through) -> bool:
    """Whether ``frame`` (the load's caller) runs one of ``callers``, or
    runs ``through`` (``load_checkpoint``) called by one of them."""
    if frame.f_code in callers:
        return True
    return frame.f_code is through and frame.f_back is not None and \
        frame.f_back.f_code in callers


def _guarded(load_to_model,
             transfer: bool,
             transfer_callers: frozenset = frozenset(),
             through=None):
    """``load_to_model`` checked before it loads: for adapter-only fit
    always, for the whole model's fit unless ``transfer`` or the caller's
    code (or, through ``load_checkpoint``'s code ``through``, its caller's)
    is among ``transfer_callers``."""

    @functools.wraps(load_to_model)
    def load_checkpoint_to_model(model, checkpoint, *args, **kwargs):
        inner = unwrapped_model(model)
        check_adapter_only_fits(inner, checkpoint)
        # The caller, not a guess from the arguments: a strategy hands over
        # a bare state dict, as load_checkpoint does for a bare file.
        if not transfer and not _called_by(
                sys._getframe(1), transfer_callers, through):
            check_adapter_only_head(
                inner, checkpoint, revise_keys=_revise_keys(args, kwargs))
            check_whole_model_fits(inner, checkpoint, _source_of(checkpoint),
                                   _revise_keys(args, kwargs))
        with loading(checkpoint):
            return load_to_model(model, checkpoint, *args, **kwargs)

    setattr(load_checkpoint_to_model, _GUARD_ATTR, load_to_model)
    return load_checkpoint_to_model


def guard_checkpoint_to_model() -> None:
    """Check every whole-checkpoint load of MMEngine into a model with
    :func:`check_adapter_only_fits` before it loads, and every one but the
    training transfers with :func:`~.head_fit.check_whole_model_fits`.

    Wraps ``mmengine.runner.checkpoint._load_checkpoint_to_model`` in that
    module and in the modules that imported it by name
    (``mmengine.runner.runner``, ``mmengine.infer.infer``): the one
    function behind ``load_checkpoint``, ``Runner.load_checkpoint``,
    ``Runner.resume``, the strategies' loads and ``BaseInferencer``, and
    so behind mmaction2's ``init_recognizer`` and mmpretrain's
    ``get_model``. MMEngine offers no public extension point there.
    Training's transfers skip the whole-model check: the binding in
    ``mmengine.runner.runner`` (``Runner.load_checkpoint``'s alone), calls
    from ``BaseStrategy.load_model_state_dict`` (``FlexibleRunner``) and
    ``load_checkpoint``'s calls from ``PretrainedInit`` (a whole model's
    ``init_cfg=dict(type='Pretrained')``, which ``init_weights`` applies
    when training starts, never the evaluation APIs), told by the calling
    code objects. Idempotent.
    """
    import mmengine.infer.infer  # noqa: F401
    import mmengine.runner.checkpoint as checkpoint_module
    import mmengine.runner.runner  # noqa: F401
    from mmengine._strategy import BaseStrategy
    from mmengine.model.weight_init import PretrainedInit
    current = checkpoint_module._load_checkpoint_to_model
    original = getattr(current, _GUARD_ATTR, current)
    callers = frozenset({
        BaseStrategy.load_model_state_dict.__code__,
        PretrainedInit.__call__.__code__
    })
    guarded = {
        transfer: _guarded(original, transfer, callers,
                           checkpoint_module.load_checkpoint.__code__)
        for transfer in (False, True)
    }
    for name, transfer in _BINDINGS:
        module = sys.modules[name]
        if getattr(module, '_load_checkpoint_to_model') is original:
            module._load_checkpoint_to_model = guarded[transfer]


def is_adapter_only_file(filename: str) -> bool:
    """Whether the local checkpoint ``filename`` is adapter-only (its meta
    has :data:`ADAPTER_META_KEY`): it then takes its frozen backbone from
    the config's pretrained file. Read with the safe loader, its tensors
    mapped rather than read (``safe_torch_load(mmap=True)``): of a full
    checkpoint only the pickle is read; a legacy-format file is read in
    full.

    Args:
        filename (str): The checkpoint file.

    Returns:
        bool: False also for a file that cannot be read: the load that
        follows names what is wrong with it.
    """
    try:
        checkpoint = safe_torch_load(filename, map_location='cpu', mmap=True)
    except Exception:  # reported, with its cause, by the load that follows
        return False
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    return isinstance(meta, dict) and meta.get(ADAPTER_META_KEY) is not None
