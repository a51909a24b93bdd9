# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint whose head was trained for another number of classes.

Its classifier's tensors differ from the model's in their first dimension
alone, which is the head's ``num_classes`` (``cls_head.fc_cls.weight``
``(3, 64)`` vs ``(2, 64)`` and its bias): that is a ``num_classes``
mismatch, named with its config key (``model.cls_head.num_classes`` of an
MMAction2 recognizer, ``model.head.num_classes`` of an MMPretrain
classifier), not another architecture.
"""
from typing import List, Mapping, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import nn

from .model_keys import HEAD_NAMES

__all__ = ['HeadClasses', 'head_classes_mismatch', 'state_dict_head_classes']


class HeadClasses(NamedTuple):
    """A head of another number of classes.

    Attributes:
        config_key (str): E.g. ``'model.cls_head.num_classes'``.
        checkpoint (int): The checkpoint's number of classes.
        model (int): The model's.
        keys (list[tuple]): ``(key, checkpoint shape, model shape)`` of
            the head's tensors that differ by it.
    """
    config_key: str
    checkpoint: int
    model: int
    keys: List[Tuple[str, tuple, tuple]]

    def describe(self) -> str:
        """``num_classes (key): checkpoint N, this model M (key: shape vs
        shape, ...)``, in the words of the other settings' refusals."""
        shapes = ', '.join(f'{key}: {tuple(ckpt)} vs {tuple(own)}'
                           for key, ckpt, own in self.keys)
        return (f'num_classes ({self.config_key}): checkpoint '
                f'{self.checkpoint}, this model {self.model} ({shapes})')


def head_classes_mismatch(
        model: nn.Module,
        mismatched: Sequence[Tuple[str, tuple,
                                   tuple]]) -> Optional[HeadClasses]:
    """The head tensors among ``mismatched`` that differ only by the head's
    number of classes.

    Only a whole model is read (a recognizer or classifier: a ``backbone``
    and a head of :data:`~mmadaptformer.utils.model_keys.HEAD_NAMES` with
    an int ``num_classes``), so that the config key is right: a module
    checked alone (a backbone's ``init_cfg``) has no head.

    Args:
        model (nn.Module): The model the state dict is loaded into.
        mismatched (Sequence[tuple]): ``(key, checkpoint shape, model
            shape)`` of every tensor whose shape differs.

    Returns:
        HeadClasses, optional: None if no head tensor differs by the
        number of classes alone, or if they disagree on it.
    """
    if not isinstance(getattr(model, 'backbone', None), nn.Module):
        return None
    for name in HEAD_NAMES:
        head = getattr(model, name, None)
        if isinstance(head, nn.Module):
            break
    else:
        return None
    classes = getattr(head, 'num_classes', None)
    if not isinstance(classes, int) or isinstance(classes, bool):
        return None
    keys = [(key, tuple(ckpt), tuple(own)) for key, ckpt, own in mismatched
            if key.startswith(name + '.') and len(ckpt) == len(own) > 0
            and tuple(ckpt[1:]) == tuple(own[1:]) and own[0] == classes]
    counts = {ckpt[0] for _, ckpt, _ in keys}
    if len(counts) != 1:
        return None
    return HeadClasses(f'model.{name}.num_classes', counts.pop(), classes,
                       keys)


def state_dict_head_classes(model: nn.Module,
                            state_dict: Mapping) -> Optional[HeadClasses]:
    """The head of another number of classes that ``state_dict`` holds for
    ``model`` (:func:`head_classes_mismatch` of the tensors whose shapes
    differ from the model's).

    Args:
        model (nn.Module): The unwrapped model it is loaded into.
        state_dict (Mapping): What would be loaded; a DDP ``module.``
            prefix is ignored, as MMEngine's load ignores it.

    Returns:
        HeadClasses, optional: Its keys are the model's, without the
        prefix; None if no head differs by its number of classes alone.
    """
    own = model.state_dict(keep_vars=True)
    mismatched = []
    for key, value in state_dict.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        if (key in own and torch.is_tensor(value)
                and tuple(value.shape) != tuple(own[key].shape)):
            mismatched.append((key, tuple(value.shape), tuple(own[key].shape)))
    return head_classes_mismatch(model, mismatched)
