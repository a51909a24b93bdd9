# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse an AdapterHook ``head=[]`` on a model that has a head.

``head=[]`` is for a model without a head (a bare backbone). On a
recognizer or classifier it froze the head at its random initialisation:
training ran with exit status 0, and the adapter-only checkpoints it wrote
could never be loaded, as the head's random values are in their frozen
digest but not in the file. Training refuses it before the first step
(:func:`refuse_frozen_head`); a plan made to read an existing file of such
a run (:func:`~.trainable.plan_trainable`) still describes it.
"""
from typing import Sequence

from torch import nn

from ...utils import HEAD_NAMES
from .trainable import PlanArgumentError, find_head

__all__ = ['refuse_frozen_head']


def refuse_frozen_head(model: nn.Module, head: Sequence[str]) -> None:
    """Refuse ``head=[]`` for a ``model`` whose head (one of
    :data:`~mmadaptformer.utils.HEAD_NAMES`) has parameters, which would
    then stay at their random initialisation.

    Args:
        model (nn.Module): The unwrapped model.
        head (Sequence[str]): The AdapterHook's ``head`` argument.

    Raises:
        PlanArgumentError: Of the ``head`` argument, naming the model's
            head module and what to write instead.
    """
    head = [head] if isinstance(head, str) else list(head)
    found = find_head(model, HEAD_NAMES)
    if head or found is None:
        return
    name, module = found
    numel = sum(p.numel() for p in module.parameters())
    if not numel:
        return
    raise PlanArgumentError(
        f'AdapterHook head=[] is for a model without a head, but '
        f'{type(model).__name__} has one, {name} ({type(module).__name__}, '
        f'{numel:,} parameters): it would stay frozen at its random '
        'initialisation, and adapter-only checkpoints, which leave out '
        'what is frozen, could never be loaded. Leave head out (it '
        f'defaults to {list(HEAD_NAMES)}) or set head=[{name!r}].', 'head')
