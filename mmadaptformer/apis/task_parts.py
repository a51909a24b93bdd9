# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A task's own parts on a shared backbone: find them in its model, and load
them without building or reading the frozen backbone again.

Of every task after the first, a :class:`~mmadaptformer.apis.SharedBackbone`
keeps the adapters, the head and the backbone modules the task trained.
:func:`load_task_parts` builds the task's model with its parameters on the
``meta`` device (no weights, no random init, no read of the pretrained
file), loads the adapter-only checkpoint into exactly the parameters it
holds, and checks what the checkpoint records of the frozen backbone it was
trained on against the shared backbone's own tensors. Whatever it cannot
decide so, it leaves to the full load. See ``docs/multitask.md``.
"""
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Set, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from torch import nn

from mmadaptformer.engine import ADAPTER_META_KEY
from mmadaptformer.models import (FROZEN_HOST_KEY, AdaptMLP, FrozenHostWrapper,
                                  block_paths)
from mmadaptformer.models.backbones.frozen_host_record import \
    check_trained_settings
from mmadaptformer.models.multitask import parameters_on_meta
from mmadaptformer.utils.state_dict_check import StateDictMismatchError
from .checkpoint_read import read_checkpoint
from .config_read import model_config
from .frozen_fingerprints import (FrozenFingerprints, check_frozen,
                                  recorded_fingerprints)
from .model_init import init_model
from .multitask_tasks import (TaskError, check_batch_first, check_side_stream,
                              head_of, tensor_owners, tensors_of,
                              trained_keys_of)
from .trained_owners import check_trained_owners

__all__ = ['TaskParts', 'find_task_parts', 'load_task_parts', 'load_task']


@dataclass
class TaskParts:
    """Where a task's own parts are in its model.

    Attributes:
        head_name (str): The head's attribute, ``cls_head`` or ``head``.
        head (nn.Module): The head.
        adapters (dict[str, nn.Module]): Path -> ``AdaptMLP``.
        indices (dict[str, int]): Path of each adapter -> its block index.
        blocks (list[str]): Paths of the transformer blocks.
        state (dict): The model's state dict (``keep_vars``).
        owners (dict[int, str]): ``id(tensor)`` -> the module holding it.
        specific (set[str]): Keys of the task: adapters, head, trained.
        extra (set[str]): Trained keys other than adapters and head.
    """
    head_name: str
    head: nn.Module
    adapters: Dict[str, nn.Module]
    indices: Dict[str, int]
    blocks: List[str]
    state: Dict[str, torch.Tensor]
    owners: Dict[int, str]
    specific: Set[str]
    extra: Set[str]


def find_task_parts(name: str, cfg: Config, source: str, model: nn.Module,
                    info: Optional[dict]) -> TaskParts:
    """Find a task's adapters, head and trained keys in its model.

    Args:
        name (str): The task.
        cfg (Config): Its config.
        source (str): Its config file, for errors.
        model (nn.Module): Its model.
        info (dict, optional): Its checkpoint's ``meta[ADAPTER_META_KEY]``;
            without one, the trained keys come from the config.

    Raises:
        TaskError: If the multi-task forward cannot serve the model.
    """
    head_name, head = head_of(model, source)
    state = model.state_dict(keep_vars=True)
    key_of = {id(v): k for k, v in state.items()}
    owners = tensor_owners(model)
    adapters = {
        path: module
        for path, module in model.named_modules()
        if isinstance(module, AdaptMLP)
    }

    def keys_under(module: nn.Module) -> Set[str]:
        return {key_of[id(t)] for t in tensors_of(module) if id(t) in key_of}

    adapter_keys = set().union(*[keys_under(m) for m in adapters.values()])
    head_keys = keys_under(head)
    blocks = block_paths(
        model,
        cfg.model.get('backbone', {}).get('block_types') or None)
    check_batch_first(name, model, blocks, source)
    check_side_stream(name, model, source)
    trained = set(info['saved_keys']) if info else trained_keys_of(
        cfg, model, source)
    # Tensors a task trained on the wrapper itself (VPT's prompts) act on
    # every token from the first block: no stream can share them.
    for key in sorted(trained):
        owner = owners.get(id(state[key])) if key in state else None
        if owner is not None and isinstance(
                model.get_submodule(owner), FrozenHostWrapper):
            raise TaskError(
                f'Task {name!r} ({source}): it trained {key} of the '
                f'{type(model.get_submodule(owner)).__name__} wrapper '
                'itself (a tensor outside its blocks, such as prompts), '
                'which the multi-task forward '
                'does not serve; only AdaptFormer tasks are. Serve it '
                'alone (ModelInferencer, tools/infer.py without --task).')
    check_trained_owners(
        name, source, model, blocks, {
            key: owners[id(state[key])]
            for key in trained - adapter_keys - head_keys if key in state
        })
    indices = {}
    for path in adapters:
        block_path = path.rsplit('.', 1)[0]
        if block_path not in blocks:
            raise TaskError(f'Task {name!r}: adapter {path} is not in a '
                            'known transformer block.')
        indices[path] = blocks.index(block_path)
    specific = adapter_keys | head_keys | trained
    return TaskParts(
        head_name=head_name,
        head=head,
        adapters=adapters,
        indices=indices,
        blocks=blocks,
        state=state,
        owners=owners,
        specific=specific,
        extra=specific - adapter_keys - head_keys)


def _materialize(state: Dict[str, torch.Tensor], model: nn.Module,
                 weights: Mapping[str, torch.Tensor]) -> Set[int]:
    """Give the model's tensors ``weights`` their checkpoint values, copied
    as ``load_state_dict`` copies them (into the model's dtype).

    Returns:
        set[int]: ``id`` of every new tensor.
    """
    holders: Dict[int, List[Tuple[nn.Module, str]]] = {}
    for module in model.modules():
        for attr, tensor in list(module.named_parameters(recurse=False)) + \
                list(module.named_buffers(recurse=False)):
            holders.setdefault(id(tensor), []).append((module, attr))
    new = set()
    with torch.no_grad():
        for key, value in weights.items():
            old = state[key]
            tensor = torch.empty(old.shape, dtype=old.dtype).copy_(value)
            if isinstance(old, nn.Parameter):
                tensor = nn.Parameter(tensor, requires_grad=old.requires_grad)
            for module, attr in holders.get(id(old), []):
                setattr(module, attr, tensor)
            new.add(id(tensor))
    return new


def load_task_parts(name: str, cfg: Config, source: str, toolbox: str,
                    checkpoint: str, loaded: dict,
                    fingerprints: FrozenFingerprints, origin: str,
                    device: str) -> Optional[Tuple[nn.Module, TaskParts]]:
    """Load a later task's own parts, without its frozen backbone.

    Args:
        name (str): The task.
        cfg (Config): Its config (the same model as the shared one).
        source (str): Its config file, for errors.
        toolbox (str): ``'mmaction'`` or ``'mmpretrain'``.
        checkpoint (str): Its checkpoint, for errors.
        loaded (dict): The checkpoint, as read.
        fingerprints (FrozenFingerprints): Of the shared frozen tensors.
        origin (str): Where the shared backbone came from, for errors
            (:func:`~mmadaptformer.apis.backbone_match.
            shared_backbone_origin`).
        device (str): Where its parts go.

    Returns:
        tuple, optional: The model (only the task's adapters, head, trained
        modules and data preprocessor hold values; the rest is ``meta``)
        and its :class:`TaskParts`; None where the full load must decide.

    Raises:
        TaskError: If it was trained on another frozen backbone, or the
            multi-task forward cannot serve it.
    """
    meta = loaded.get('meta')
    info = meta.get(ADAPTER_META_KEY) if isinstance(meta, Mapping) else None
    if not isinstance(info, Mapping) or not info.get('frozen_digest') or \
            not isinstance(info.get('frozen_digest'), str) or \
            not isinstance(info.get('saved_keys'), (list, tuple)):
        return None  # a merged or full checkpoint: compared tensor by tensor
    raw = loaded['state_dict'] if 'state_dict' in loaded else loaded
    if not isinstance(raw, Mapping):
        return None
    weights = {re.sub(r'^module\.', '', k): v for k, v in raw.items()}
    init_default_scope(toolbox)
    try:
        with parameters_on_meta():
            model = MODELS.build(model_config(cfg, toolbox))
    except Exception:  # noqa: B902 -- e.g. .item() of a meta parameter
        return None
    model.eval()
    state = model.state_dict(keep_vars=True)
    saved = set(info['saved_keys'])
    wrappers = {(path + '.' if path else '') + FROZEN_HOST_KEY
                for path, module in model.named_modules()
                if isinstance(module, FrozenHostWrapper)}
    entries = {k: weights.pop(k) for k in list(weights) if k in wrappers}
    shared = fingerprints.tensors
    frozen = [k for k in state if k not in saved]
    # Everything that does not fit exactly goes to the full load, which
    # names it: a key or shape the model lacks, a trained key the
    # checkpoint lacks, an adapter it did not train, a tied tensor, a
    # frozen tensor the shared backbone does not have (a module the first
    # task trained) or one the task lacks.
    if len(weights) != len(raw) - len(entries) or set(weights) != saved or \
            not saved <= set(state) or not set(frozen) <= set(shared) or \
            not set(shared) <= set(state) or len(
                {id(state[k]) for k in saved}) != len(saved) or any(
                    not torch.is_tensor(v) or v.shape != state[k].shape
                    for k, v in weights.items()):
        return None
    adapter_tensors = {
        id(t)
        for m in model.modules() if isinstance(m, AdaptMLP)
        for t in tensors_of(m)
    }
    if any(id(state[k]) in adapter_tensors for k in frozen):
        return None
    recorded = recorded_fingerprints(entries)
    if recorded is None or any(k in saved or k not in shared
                               for k in recorded):
        return None
    trained_on = [
        e['pretrained'] for e in entries.values()
        if isinstance(e.get('pretrained'), str)
    ]
    check_frozen(name, checkpoint, info['frozen_digest'], recorded, frozen,
                 fingerprints, origin, model, trained_on)
    try:
        for key, entry in entries.items():
            check_trained_settings(
                model.get_submodule(key[:-len(FROZEN_HOST_KEY)].rstrip('.')),
                entry)
    except StateDictMismatchError:
        return None  # trained with other settings: the full load names them
    new = _materialize(state, model, weights)
    parts = find_task_parts(name, cfg, source, model, info)
    persistent = {id(t) for t in parts.state.values()}
    # Adapters and head as built around their checkpoint values (their
    # non-persistent buffers are the constructor's either way); the trained
    # backbone modules wholly from the checkpoint.
    kept = [(m, True) for m in parts.adapters.values()]
    kept += [(parts.head, True)]
    kept += [(model.get_submodule(parts.owners[id(parts.state[k])]), False)
             for k in parts.extra]
    for module, own_buffers in kept:
        for sub in module.modules():
            for tensor in tensors_of(sub, recurse=False):
                if id(tensor) in new:
                    continue
                if not own_buffers or tensor.is_meta or \
                        id(tensor) in persistent or \
                        isinstance(tensor, nn.Parameter):
                    return None
    preprocessor = model.data_preprocessor
    if any(t.is_meta for t in tensors_of(preprocessor)):
        return None
    for module, _ in kept + [(preprocessor, True)]:
        module.to(device)
    model.cfg = cfg
    return model, parts


def load_task(name: str,
              cfg: Config,
              source: str,
              toolbox: str,
              checkpoint: Optional[str],
              device: str,
              origin: Optional[str],
              fingerprints: Optional[FrozenFingerprints],
              loaded: Optional[dict] = None) -> tuple:
    """Load a task to serve on a shared backbone: a later task with an
    adapter-only checkpoint without its frozen backbone
    (:func:`load_task_parts`), the first one and any other by
    :func:`~mmadaptformer.apis.init_model`; the checkpoint is read once.

    Args:
        origin (str, optional): Where the shared backbone came from;
            None for the first task.
        fingerprints (FrozenFingerprints, optional): Of the shared frozen
            tensors; None for the first task.
        loaded (dict, optional): ``checkpoint`` as
            :func:`~.checkpoint_read.read_checkpoint` read it (``add_task``
            reads it before it takes the lock); None to read it here.
            Defaults to None.
        Others as :func:`load_task_parts`, ``checkpoint`` optional.

    Returns:
        tuple: The model, the checkpoint's ``meta``, the :class:`TaskParts`
        and whether only those parts were loaded (the shared frozen tensors
        then checked against the checkpoint's records).
    """
    if loaded is None and origin is not None and checkpoint is not None:
        loaded = read_checkpoint(checkpoint)
    if origin is not None and loaded is not None:
        light = load_task_parts(name, cfg, source, toolbox,
                                os.fspath(checkpoint), loaded, fingerprints,
                                origin, device)
        if light is not None:
            return light[0], loaded.get('meta') or {}, light[1], True
    model, meta = init_model(cfg, checkpoint, device, loaded=loaded)
    parts = find_task_parts(name, cfg, source, model,
                            meta.get(ADAPTER_META_KEY))
    return model, meta, parts, False
