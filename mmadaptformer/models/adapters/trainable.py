# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which parts of a model train during adaptation, decided structurally.

AdaptFormer (arXiv 2205.13535) trains the adapters and the classification
head and freezes everything else; the paper's linear-probe baseline trains
the head alone. :func:`plan_trainable` finds

* the adapters by type (:class:`AdaptMLP`), never by a name pattern;
* the head as the model's head attribute (``cls_head`` for MMAction2
  recognizers, ``head`` for MMPretrain classifiers);
* any extra parameters by regular expressions over state-dict keys, for parts
  a recipe also trains (e.g. ``fc_norm`` in the official video recipe).

Membership is decided by tensor identity, so it is right under wrappers that
rename state-dict keys (such as the AdaptFormer backbone wrapper).
"""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from torch import nn

from ...utils import HEAD_NAMES
from .injection import adapter_modules

__all__ = [
    'MODES', 'TrainablePlan', 'plan_trainable', 'apply_trainable', 'find_head',
    'frozen_batch_norms'
]

#: ``adaptformer``: adapters + head + extras; ``linear_probe``: head + extras.
MODES = ('adaptformer', 'linear_probe')


@dataclass
class TrainablePlan:
    """The outcome of :func:`plan_trainable`.

    Attributes:
        mode (str): One of :data:`MODES`.
        groups (dict[str, list[str]]): State-dict keys of the trainable
            parameters per group: ``'adapters'``, ``'head'``, ``'other'``.
        saved_keys (list[str]): State-dict keys (parameters and buffers) an
            adapter-only checkpoint holds: everything of the trainable parts.
        frozen_keys (list[str]): The other state-dict keys: the frozen part.
        head_name (str, optional): Attribute name of the head, if found.
        numels (dict[str, int]): Number of elements per state-dict key.
    """
    mode: str
    groups: Dict[str, List[str]]
    saved_keys: List[str]
    frozen_keys: List[str]
    head_name: Optional[str] = None
    numels: Dict[str, int] = field(default_factory=dict)

    @property
    def trainable_keys(self) -> List[str]:
        """Keys of all trainable parameters."""
        return [key for keys in self.groups.values() for key in keys]

    def count(self, keys: Sequence[str]) -> int:
        """Number of elements in ``keys``."""
        return sum(self.numels[key] for key in keys)


def find_head(model: nn.Module,
              head: Sequence[str] = HEAD_NAMES) -> Optional[tuple]:
    """``(attribute, module)`` of the first of ``head`` that ``model`` has
    as a module (``cls_head`` of a recognizer, ``head`` of a classifier),
    or None."""
    for name in head:
        module = getattr(model, name, None)
        if isinstance(module, nn.Module):
            return name, module
    return None


def plan_trainable(
    model: nn.Module,
    mode: str = 'adaptformer',
    head: Sequence[str] = HEAD_NAMES,
    extra_trainable: Sequence[str] = ()
) -> TrainablePlan:
    """Decide which parameters of ``model`` train.

    Args:
        model (nn.Module): The unwrapped model (no DDP wrapper).
        mode (str): ``'adaptformer'`` or ``'linear_probe'``.
            Defaults to ``'adaptformer'``.
        head (Sequence[str]): Attribute names of the head to look for, in
            order. Defaults to :data:`~mmadaptformer.utils.HEAD_NAMES`.
        extra_trainable (Sequence[str]): Regular expressions; parameters
            whose state-dict key matches one (``re.search``) train too.
            Defaults to ().

    Returns:
        TrainablePlan: The plan; nothing is changed on the model.

    Raises:
        ValueError: On an unknown mode, an extra pattern that matches no
            parameter, AdaptFormer mode without any adapter, or a plan in
            which nothing trains.
    """
    if mode not in MODES:
        raise ValueError(f'mode={mode!r} is not one of {MODES}')
    if isinstance(extra_trainable, str):
        extra_trainable = [extra_trainable]
    state = model.state_dict(keep_vars=True)
    key_of = {id(value): key for key, value in state.items()}
    params = {
        key
        for key, value in state.items() if isinstance(value, nn.Parameter)
    }

    def keys_of(module: nn.Module) -> List[str]:
        tensors = list(module.parameters()) + list(module.buffers())
        return [key_of[id(t)] for t in tensors if id(t) in key_of]

    saved = set()
    groups: Dict[str, List[str]] = {'adapters': [], 'head': [], 'other': []}
    if mode == 'adaptformer':
        adapters = adapter_modules(model)
        if not adapters:
            raise ValueError(
                'mode=\'adaptformer\' but the model has no AdaptMLP: wrap '
                'the backbone with type=\'AdaptFormer\' (or call '
                'mmadaptformer.models.inject_adapters), or use '
                'mode=\'linear_probe\'.')
        for module in adapters.values():
            saved.update(keys_of(module))
        groups['adapters'] = [k for k in state if k in saved and k in params]

    found = find_head(model, head)
    head_name = None
    if found is not None:
        head_name, head_module = found
        head_keys = set(keys_of(head_module))
        saved |= head_keys
        groups['head'] = [k for k in state if k in head_keys and k in params]

    taken = set(groups['adapters']) | set(groups['head'])
    for pattern in extra_trainable:
        regex = re.compile(pattern)
        matched = [k for k in state if k in params and regex.search(k)]
        if not matched:
            examples = [k for k in state if k in params][:5]
            raise ValueError(
                f'extra_trainable pattern {pattern!r} matches no parameter '
                f'of {type(model).__name__}; patterns are regular '
                f'expressions searched in state-dict keys such as '
                f'{examples}.')
        for key in matched:
            if key not in taken:
                groups['other'].append(key)
                taken.add(key)
        saved.update(matched)

    if not taken:
        raise ValueError(
            f'Nothing would train in {type(model).__name__} with '
            f'mode={mode!r}: no head attribute among {list(head)} and no '
            f'extra_trainable parameters.')
    return TrainablePlan(
        mode=mode,
        groups=groups,
        saved_keys=[k for k in state if k in saved],
        frozen_keys=[k for k in state if k not in saved],
        head_name=head_name,
        numels={k: v.numel()
                for k, v in state.items()})


def apply_trainable(model: nn.Module, plan: TrainablePlan) -> None:
    """Set ``requires_grad`` as ``plan`` says: only its groups train.

    Args:
        model (nn.Module): The model the plan was made for.
        plan (TrainablePlan): From :func:`plan_trainable`.
    """
    trainable = set(plan.trainable_keys)
    for key, value in model.state_dict(keep_vars=True).items():
        if isinstance(value, nn.Parameter):
            value.requires_grad_(key in trainable)


def frozen_batch_norms(model: nn.Module,
                       plan: TrainablePlan) -> List[nn.Module]:
    """The batch norms whose every tensor ``plan`` freezes.

    In train mode a batch norm updates its running statistics, which are
    part of the frozen backbone (e.g. the convolution stages of UniFormer):
    they must run in eval mode while the rest of the model trains. A batch
    norm of the head, or one with a trainable tensor, is not listed.

    Args:
        model (nn.Module): The model the plan was made for.
        plan (TrainablePlan): From :func:`plan_trainable`.

    Returns:
        list[nn.Module]: The batch norms, in module order.
    """
    frozen = set(plan.frozen_keys)
    key_of = {
        id(value): key
        for key, value in model.state_dict(keep_vars=True).items()
    }
    norms = []
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            tensors = list(module.parameters()) + list(module.buffers())
            if tensors and all(key_of.get(id(t)) in frozen for t in tensors):
                norms.append(module)
    return norms
