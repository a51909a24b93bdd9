# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The parts of a whole classifier that a checkpoint given to evaluate it
must hold besides its backbone's blocks: the head, the neck and the final
normalisation layers.

A fresh start initialises them on purpose (:func:`~.model_keys.
fresh_keys`), so training tolerates a checkpoint without them; the
training run then trains them (or, for a frozen final norm, takes it from
the backbone's pretrained weights) and saves them. A checkpoint evaluated
without them predicts with them at their initialisation: a random head,
identity norms. :func:`missing_evaluated_keys` finds which of them a
state dict lacks and :func:`evaluated_parts` names those parts, for the
refusals of :mod:`.head_fit` and :mod:`.trained_part_fit`.
"""
from typing import List, Mapping, Optional, Tuple

import torch
from torch import nn

from .checkpoint_source import frozen_records
from .model_keys import (HEAD_NAMES, NECK_NAME, added_keys, fresh_keys,
                         held_keys, needed_keys)
from .state_dict_diff import diff_state_dict

__all__ = [
    'classifier_head', 'evaluated_keys', 'evaluated_parts', 'head_part_keys',
    'missing_evaluated_keys', 'same_part_keys'
]


def classifier_head(model: nn.Module) -> Optional[Tuple[str, nn.Module]]:
    """``(attribute name, head)`` of a whole classifier: a model with a
    ``backbone`` module and a head of :data:`~.model_keys.HEAD_NAMES` with
    an int ``num_classes``; None for any other module (a backbone alone,
    a neck, a model without such a head)."""
    if not isinstance(getattr(model, 'backbone', None), nn.Module):
        return None
    for name in HEAD_NAMES:
        head = getattr(model, name, None)
        if isinstance(head, nn.Module):
            classes = getattr(head, 'num_classes', None)
            if isinstance(classes, int) and not isinstance(classes, bool):
                return name, head
            return None
    return None


def head_part_keys(model: nn.Module) -> List[str]:
    """The state-dict keys of a whole classifier's head and neck
    (:data:`~.model_keys.NECK_NAME`, if it has one with tensors), in the
    order of ``model.state_dict()``. Empty for any module that is not a
    whole classifier (:func:`classifier_head`)."""
    found = classifier_head(model)
    if found is None:
        return []
    prefixes = (found[0] + '.', NECK_NAME + '.')
    return [key for key in model.state_dict() if key.startswith(prefixes)]


def evaluated_keys(model: nn.Module) -> List[str]:
    """The state-dict keys a checkpoint given to evaluate a whole classifier
    must hold although a fresh start initialises them: its head and neck
    (:func:`head_part_keys`) and its final normalisation layers (the
    :func:`~.model_keys.fresh_keys` that are not the adapters or prompts
    this package adds, e.g. ``backbone.fc_norm``, mmpretrain's
    ``backbone.ln1``), in the order of ``model.state_dict()``. Empty for
    any module that is not a whole classifier."""
    if classifier_head(model) is None:
        return []
    fresh = fresh_keys(model) - added_keys(model)
    head = set(head_part_keys(model))
    return [key for key in model.state_dict() if key in fresh or key in head]


def missing_evaluated_keys(model: nn.Module, state: Mapping) -> List[str]:
    """The :func:`evaluated_keys` that ``state`` lacks (a ``module.``
    prefix is ignored, as MMEngine's load ignores it).

    A key the model's own load would fill in is not missing: the keys a
    plain lookup misses are confirmed by a dry run of the model's loading
    code (:func:`~.state_dict_diff.diff_state_dict`). A final norm is
    missing only from a full checkpoint: one that holds every tensor the
    model needs (:func:`~.model_keys.needed_keys`). A file that leaves
    the frozen backbone out (an adapter-only checkpoint, which holds what
    trained, as its record says) takes the norms it left frozen from the
    backbone's pretrained weights, and one with other holes is named by
    the load. Nor is one missing from a state dict of another layout
    (tensors the model lacks, or of other shapes): the load names what it
    holds instead.
    """
    held = held_keys(state)
    missing = [key for key in evaluated_keys(model) if key not in held]
    if missing and not needed_keys(model) <= held:
        missing = _head_or_neck(model, missing)
    if missing:
        tensors = {k: v for k, v in state.items() if torch.is_tensor(v)}
        # With the records of the frozen backbone: the load of an
        # adapter-only state dict without them refuses it as one that lost
        # them (diff_state_dict raises the load's refusals).
        tensors.update(frozen_records(dict(state)))
        diff = diff_state_dict(model, tensors)
        still = set(diff.missing)
        missing = [key for key in missing if key in still]
        if diff.unexpected or diff.mismatched:
            # Another layout (e.g. fc_norm where the model has ln1): the
            # load names it, with the keys it holds instead.
            missing = _head_or_neck(model, missing)
    return missing


def _part(head: str, key: str) -> str:
    """The part of a whole classifier with head ``head`` that ``key`` (of
    :func:`evaluated_keys`) belongs to: the head, the neck, or its norm's
    module path."""
    for part in (head, NECK_NAME):
        if key.startswith(part + '.'):
            return part
    return key.rsplit('.', 1)[0]


def _head_or_neck(model: nn.Module, keys: List[str]) -> List[str]:
    """The ``keys`` of the head and neck, the final norms left out."""
    head = classifier_head(model)[0]
    return [key for key in keys if _part(head, key) in (head, NECK_NAME)]


def same_part_keys(model: nn.Module, keys: List[str]) -> List[str]:
    """The :func:`evaluated_keys` of the parts that ``keys`` belong to (the
    whole head of a head key, ...), so that an error can say whether a
    checkpoint holds none or some of each part at fault."""
    name = classifier_head(model)[0]
    parts = {_part(name, key) for key in keys}
    return [key for key in evaluated_keys(model) if _part(name, key) in parts]


def evaluated_parts(model: nn.Module, keys: List[str]) -> str:
    """The parts of a whole classifier that ``keys`` (of
    :func:`evaluated_keys`) belong to, as an error names them, e.g.
    ``'head (cls_head.*)'``, ``'head (head.*) and final norm
    (backbone.ln1.*)'``."""
    name = classifier_head(model)[0]
    found = {_part(name, key) for key in keys}
    parts = []
    if name in found:
        parts.append(f'head ({name}.*)')
    if NECK_NAME in found:
        parts.append(f'neck ({NECK_NAME}.*)')
    norms = []
    for key in keys:
        part = _part(name, key)
        if part not in (name, NECK_NAME) and f'{part}.*' not in norms:
            norms.append(f'{part}.*')
    if norms:
        plural = 's' if len(norms) > 1 else ''
        parts.append(f'final norm{plural} ({", ".join(norms)})')
    return ' and '.join(parts)
