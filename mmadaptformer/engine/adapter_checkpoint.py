# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Adapter-only checkpoints: write, complete and build from configs.

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
import copy
from typing import (Any, Callable, Dict, Iterable, List, Mapping, Optional,
                    Tuple)

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from torch import nn

from mmadaptformer.models.adapters.trainable import (TrainablePlan,
                                                     plan_trainable)
from mmadaptformer.models.backbones.base_wrapper import FrozenHostWrapper
from mmadaptformer.models.backbones.frozen_host_record import (
    FROZEN_HOST_KEY, FrozenBackboneMismatchError, frozen_host_entries,
    verify_frozen_host)
from mmadaptformer.models.backbones.trained_part_check import trained_part_keys
from mmadaptformer.utils import HEAD_NAMES
from mmadaptformer.utils.adapter_only_fit import ADAPTER_META_KEY
from mmadaptformer.utils.fingerprint import digest, state_fingerprints
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

__all__ = [
    'ADAPTER_META_KEY', 'make_adapter_checkpoint', 'check_adapter_record',
    'complete_adapter_checkpoint', 'check_frozen_digest', 'adapter_hook_cfg',
    'build_model_and_plan', 'HOST_SOURCES_META_KEY', 'frozen_host_sources',
    'check_holds_trained_part', 'checkpoint_meta', 'check_tensor_entries',
    'model_trained_part_keys'
]

#: Where a merged checkpoint keeps the pretrained file of each wrapper's
#: frozen backbone (see :func:`frozen_host_sources`).
HOST_SOURCES_META_KEY = 'frozen_host_sources'
_FORMAT_VERSION = 1
#: Where adapter-only checkpoints come from, for the error about a record
#: that is not one.
WRITTEN_BY = ('Adapter-only checkpoints are written by training with '
              'AdapterHook(adapter_only_checkpoint=True) or by '
              'tools/model_converters/extract_adapters.py.')


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
        StateDictMismatchError: Naming ``filename`` and the meta key.
    """
    saved = info.get('saved_keys') if isinstance(info, dict) else None
    if isinstance(saved, (list, tuple)) and all(
            isinstance(k, str)
            for k in saved) and isinstance(info.get('frozen_digest'), str):
        return info
    raise StateDictMismatchError(
        f"{filename or 'The checkpoint'}: its meta['{ADAPTER_META_KEY}'] is "
        'not the record an adapter-only checkpoint carries (a dict with '
        f'saved_keys and frozen_digest), but {info!r:.200}. {expected}')


def complete_adapter_checkpoint(model: nn.Module,
                                checkpoint: dict,
                                plan: TrainablePlan,
                                source: Optional[str] = None) -> dict:
    """Fill an adapter-only checkpoint with the model's frozen weights.

    Args:
        model (nn.Module): The unwrapped model, its frozen part loaded from
            the pretrained weights the adapters must run on.
        checkpoint (dict): An adapter-only checkpoint (changed in place).
        plan (TrainablePlan): The model's trainable plan.
        source (str, optional): The checkpoint's path, for the error.
            Defaults to None.

    Returns:
        dict: ``checkpoint``, whose state dict now holds every key.

    Raises:
        FrozenBackboneMismatchError: If the frozen weights of a wrapper are
            not the ones the checkpoint was trained on.
        FrozenBackboneMismatchError: If other frozen weights differ.
        StateDictMismatchError: If the checkpoint's trainable keys do not
            match the model's, or its record is not one
            (:func:`check_adapter_record`).
    """
    info = check_adapter_record(checkpoint['meta'][ADAPTER_META_KEY], source)
    state = checkpoint['state_dict']
    expected = set(plan.saved_keys)
    entries = {k for k in state if k.endswith(FROZEN_HOST_KEY)}
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected - entries)
    if missing or unexpected:
        mode = info.get('mode')
        other = '' if mode in (None, plan.mode) else (
            f' or AdapterHook mode (checkpoint: {mode!r}, now: '
            f'{plan.mode!r})')
        raise StateDictMismatchError(
            f'{source + ": " if source else ""}Adapter-only checkpoint does '
            'not fit this model: missing '
            f'trainable keys {missing[:10]}, unexpected keys '
            f'{unexpected[:10]}. Was it trained with another adapter '
            f'configuration{other}? Use the config it was trained with.')
    # Per tensor first, for an error that says how many differ.
    for name, module in model.named_modules():
        key = (f'{name}.' if name else '') + FROZEN_HOST_KEY
        if isinstance(module, FrozenHostWrapper) and key in state:
            entry = state[key]
            if source is not None and isinstance(entry, dict):
                entry.setdefault('source', source)
            verify_frozen_host(module, entry)
    frozen = set(plan.frozen_keys)
    model_state = model.state_dict()
    check_frozen_digest(info, [(k, v)
                               for k, v in model_state.items() if k in frozen],
                        source)
    for key in plan.frozen_keys:
        state[key] = model_state[key]
    return checkpoint


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
        FrozenBackboneMismatchError: If the digests differ.
    """
    fingerprints = state_fingerprints(frozen)
    actual = digest(fingerprints)
    if actual != info['frozen_digest']:
        raise FrozenBackboneMismatchError(
            f'{source + ": " if source else ""}Adapter-only checkpoint was '
            f'trained on a different frozen backbone: it records frozen '
            f'weights with digest {info["frozen_digest"][:16]}... '
            f'({info.get("frozen_keys")} tensors), but this model has '
            f'{actual[:16]}... ({len(fingerprints)} tensors). Point the '
            f'config\'s pretrained path (init_cfg / load_from of the '
            f'backbone) at the checkpoint the adapters were trained on; '
            f'loading them onto other weights would silently give wrong '
            f'results.')
    return actual


def checkpoint_meta(checkpoint: Any, filename: str, expected: str) -> dict:
    """The ``'meta'`` dict of a loaded checkpoint ({} when it has none).

    Args:
        checkpoint (Any): What :func:`safe_torch_load` returned.
        filename (str): The checkpoint's path, for the error.
        expected (str): What the caller takes, said after the problem.

    Returns:
        dict: The meta.

    Raises:
        StateDictMismatchError: If ``checkpoint`` is not a dict, or its
            ``'meta'`` is neither a dict nor None; the message names
            ``filename``.
    """
    if not isinstance(checkpoint, dict):
        raise StateDictMismatchError(
            f'{filename} is not a checkpoint dict: it holds a '
            f'{type(checkpoint).__name__}. {expected}')
    meta = checkpoint.get('meta')
    if meta is not None and not isinstance(meta, dict):
        raise StateDictMismatchError(
            f"{filename}: its 'meta' is a {type(meta).__name__}, not a "
            f'dict. {expected}')
    return meta or {}


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


def model_trained_part_keys(model: nn.Module) -> Tuple[List[str], str]:
    """The state-dict keys of what the model's frozen-host wrappers train
    (adapters, prompts: :func:`~mmadaptformer.models.backbones.
    trained_part_check.trained_part_keys` of each), and what that is
    called (``'adapter'``, ``'prompt'``)."""
    state = model.state_dict()
    keys, part = [], 'adapter'
    for name, module in model.named_modules():
        if isinstance(module, FrozenHostWrapper):
            keys += trained_part_keys(module, state,
                                      f'{name}.' if name else '')
            part = module.trained_part
    return keys, part


def check_holds_trained_part(model: nn.Module, state: Mapping,
                             source: str) -> None:
    """Refuse to evaluate a model with a full checkpoint that holds none of
    its adapters (or prompts): they would predict at their initialisation
    (random, with the video recipes' ``init='trunc_normal'``), not as
    trained.

    A checkpoint that holds some of them is refused where the model loads
    it (the wrapper's own check); adapter-only checkpoints are checked
    against their record. Training may start from such a checkpoint: the
    adapters then train from their initialisation.

    Args:
        model (nn.Module): The unwrapped model.
        state (Mapping): The checkpoint's state dict (a ``module.`` prefix
            is ignored, as MMEngine's load ignores it).
        source (str): The checkpoint file, for the error.

    Raises:
        StateDictMismatchError: If the model has a trained part and
            ``state`` holds none of it.
    """
    keys, part = model_trained_part_keys(model)
    if not keys:
        return
    held = {
        k[len('module.'):] if k.startswith('module.') else k
        for k in state
    }
    if any(key in held for key in keys):
        return
    raise StateDictMismatchError(
        f'{source} holds none of the model\'s {len(keys)} {part} tensors '
        f'(e.g. {keys[0]}): the model would be evaluated with {part}s at '
        'their initialisation, not trained ones. It is a checkpoint of a '
        f'model without these {part}s (a stock or fully fine-tuned model, '
        'a converted VideoMAE or MAE checkpoint): evaluate it with its own '
        f'config, or give the checkpoint the training run of this config '
        'wrote (its work dir\'s epoch_N.pth or best_*.pth).')


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
        ``host_source``, for those whose weights were loaded.
    """
    return {
        name: module.host_source
        for name, module in model.named_modules()
        if isinstance(module, FrozenHostWrapper) and module.host_source
    }


def adapter_hook_cfg(cfg: Config) -> Optional[dict]:
    """The ``AdapterHook`` entry of a config's ``custom_hooks``, if any.

    Args:
        cfg (Config): A training config.

    Returns:
        dict, optional: A copy of the hook's config dict.
    """
    for hook in cfg.get('custom_hooks', None) or []:
        if isinstance(hook,
                      dict) and hook.get('type') in ('AdapterHook',
                                                     'mmaction.AdapterHook',
                                                     'mmpretrain.AdapterHook'):
            return copy.deepcopy(dict(hook))
    return None


def build_model_and_plan(
        cfg: Config,
        init_weights: bool = True) -> Tuple[nn.Module, TrainablePlan]:
    """Build a config's model and its trainable plan, as training would.

    Args:
        cfg (Config): A config with ``model`` and an ``AdapterHook`` in
            ``custom_hooks``.
        init_weights (bool): Initialise the weights as training starts
            them, so the frozen backbone is the config's pretrained one.
            A caller that loads a full checkpoint next needs no pretrained
            file and passes False. Defaults to True.

    Returns:
        tuple: The model (in eval mode) and its :class:`TrainablePlan`.

    Raises:
        KeyError: If the config has no ``AdapterHook``.
    """
    hook = adapter_hook_cfg(cfg)
    if hook is None:
        raise KeyError(
            'The config has no AdapterHook in custom_hooks, so which parts '
            'are trainable (and saved in an adapter-only checkpoint) is '
            'undefined.')
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(copy.deepcopy(cfg.model))
    if init_weights:
        model.init_weights()
    model.eval()
    plan = plan_trainable(
        model,
        mode=hook.get('mode', 'adaptformer'),
        head=hook.get('head', HEAD_NAMES),
        extra_trainable=hook.get('extra_trainable', ()))
    return model, plan
