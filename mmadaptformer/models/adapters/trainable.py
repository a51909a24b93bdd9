# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which parts of a model train during adaptation, decided structurally.

AdaptFormer (arXiv 2205.13535) trains the adapters and the classification
head and freezes everything else; the paper's linear-probe baseline trains
the head alone. :func:`plan_trainable` finds

* the adapters by type (:class:`AdaptMLP`), never by a name pattern;
* the head as the model's head attribute (``cls_head`` for MMAction2
  recognizers, ``head`` for MMPretrain classifiers), and the neck between
  backbone and head (``neck``), which no backbone checkpoint holds and so
  trains with the head;
* any extra parameters by regular expressions over state-dict keys, for parts
  a recipe also trains (e.g. ``fc_norm`` in the official video recipe).

Membership is decided by tensor identity, so it is right under wrappers that
rename state-dict keys (such as the AdaptFormer backbone wrapper).
"""
import difflib
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from torch import nn

from ...utils import HEAD_NAMES, ConfigError
from ...utils.batch_norm_stats import tracks_running_stats
from ...utils.model_keys import NECK_NAME
from .injection import adapter_modules

__all__ = [
    'MODES', 'NECK_NAME', 'TrainablePlan', 'plan_trainable', 'apply_trainable',
    'find_head', 'frozen_batch_norms', 'PlanArgumentError'
]

#: ``adaptformer``: adapters + neck + head + extras; ``linear_probe``: neck
#: + head + extras.
MODES = ('adaptformer', 'linear_probe')


class PlanArgumentError(ConfigError):
    """:func:`plan_trainable`'s refusal of one of its arguments.

    Args:
        message (str): The refusal.
        argument (str, optional): The argument refused (``'mode'``,
            ``'head'`` or ``'extra_trainable'``), so that the caller can
            say where it was set; None when no single one is at fault.
    """

    def __init__(self, message: str, argument: Optional[str] = None):
        super().__init__(message)
        self.argument = argument


@dataclass
class TrainablePlan:
    """The outcome of :func:`plan_trainable`.

    Attributes:
        mode (str): One of :data:`MODES`.
        groups (dict[str, list[str]]): State-dict keys of the trainable
            parameters per group: ``'adapters'``, ``'neck'``, ``'head'``,
            ``'other'``.
        saved_keys (list[str]): State-dict keys (parameters and buffers) an
            adapter-only checkpoint holds: everything of the trainable parts,
            and the running statistics of a batch norm one of whose own
            parameters trains.
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


def _missing_head(model: nn.Module, head: Sequence[str]) -> ConfigError:
    """The error for a model that has none of the ``head`` attributes."""
    children = [name for name, _ in model.named_children()]
    guesses = [
        match for name in head
        for match in difflib.get_close_matches(name, children, 1, 0.5)
    ] + [name for name in HEAD_NAMES if name in children]
    hint = f' Did you mean {guesses[0]!r}?' if guesses else ''
    return PlanArgumentError(
        f'AdapterHook head={list(head)}: {type(model).__name__} has no '
        f'module of {"this name" if len(head) == 1 else "these names"}, '
        'so its head would stay frozen at its initialisation. Its '
        f'top-level modules are {children}.{hint} Set AdapterHook(head=...) '
        "to the head's attribute name, or head=[] for a model without a "
        'head.', 'head')


def _untrained_adapters(adapters: Dict[str, nn.Module]) -> ConfigError:
    """The error for ``mode='linear_probe'`` on a model with adapters."""
    names = list(adapters)
    return PlanArgumentError(
        "AdapterHook mode='linear_probe' trains the head (and its "
        'extra_trainable parameters) alone, but the model has '
        f'{len(names)} AdaptMLP adapter{"s" * (len(names) != 1)} (e.g. '
        f'{names[0]}): they would stay at their random initialisation and '
        'the probe would be trained on top of them. Use a config without '
        'adapters (as configs/baselines/linear-probe_*.py), or mode='
        "'adaptformer' to train the adapters.", 'mode')


def _unmatched_pattern(model: nn.Module, pattern: str, state: dict,
                       params: set) -> ConfigError:
    """The error for an ``extra_trainable`` pattern that matches no
    parameter: it names the buffers it matches, which never train."""
    regex = re.compile(pattern)
    buffers = [k for k in state if k not in params and regex.search(k)]
    examples = [k for k in state if k in params][:5]
    found = (f'only buffers, {buffers[:5]}, which do not train (a module '
             'without parameters, such as a BatchNorm with affine=False, '
             'has nothing to train)' if buffers else 'no parameter')
    return PlanArgumentError(
        f'AdapterHook extra_trainable pattern {pattern!r} matches {found} '
        f'of {type(model).__name__}; patterns are regular expressions '
        f'searched in the state-dict keys of parameters such as '
        f'{examples}.', 'extra_trainable')


def plan_trainable(
    model: nn.Module,
    mode: str = 'adaptformer',
    head: Sequence[str] = HEAD_NAMES,
    extra_trainable: Sequence[str] = ()
) -> TrainablePlan:
    """Decide which parameters of ``model`` train.

    The adapters (in ``'adaptformer'`` mode), the head, the neck between
    backbone and head (``model.neck``, if any: no backbone checkpoint holds
    it) and the ``extra_trainable`` parameters train; everything else is
    frozen.

    Args:
        model (nn.Module): The unwrapped model (no DDP wrapper).
        mode (str): ``'adaptformer'`` or ``'linear_probe'``.
            Defaults to ``'adaptformer'``.
        head (Sequence[str]): Attribute names of the head to look for, in
            order; empty for a model without a head. Defaults to
            :data:`~mmadaptformer.utils.HEAD_NAMES`.
        extra_trainable (Sequence[str]): Regular expressions; parameters
            whose state-dict key matches one (``re.search``) train too. A
            batch norm with running statistics any of whose own parameters
            trains runs in train mode, so its running statistics (and
            ``num_batches_tracked``) are saved keys too: they change while
            it trains, an adapter-only checkpoint holds and restores them,
            and the frozen fingerprint leaves them out. Defaults to ().

    Returns:
        TrainablePlan: The plan; nothing is changed on the model.

    Raises:
        PlanArgumentError: A ``ConfigError`` whose ``argument`` names the
            argument at fault (None for a plan in which nothing trains):
            on an unknown mode, a ``head`` that names no module of
            the model, an extra pattern that matches no parameter,
            AdaptFormer mode without any adapter, linear probing with
            adapters (they would stay at their random initialisation), or a
            plan in which nothing trains.
    """
    if mode not in MODES:
        raise PlanArgumentError(
            f'AdapterHook mode={mode!r} is not one of {MODES}.', 'mode')
    if isinstance(extra_trainable, str):
        extra_trainable = [extra_trainable]
    head = [head] if isinstance(head, str) else list(head)
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
    groups: Dict[str, List[str]] = {
        'adapters': [],
        'neck': [],
        'head': [],
        'other': []
    }
    adapters = adapter_modules(model)
    if mode == 'linear_probe' and adapters:
        raise _untrained_adapters(adapters)
    if mode == 'adaptformer':
        if not adapters:
            raise PlanArgumentError(
                'mode=\'adaptformer\' but the model has no AdaptMLP: wrap '
                'the backbone with type=\'AdaptFormer\' (or call '
                'mmadaptformer.models.inject_adapters), or use '
                'mode=\'linear_probe\'.', 'mode')
        for module in adapters.values():
            saved.update(keys_of(module))
        groups['adapters'] = [k for k in state if k in saved and k in params]

    found = find_head(model, head)
    if found is None and head:
        raise _missing_head(model, head)
    head_name = None
    parts = {}
    if found is not None:
        head_name, parts['head'] = found
    neck = getattr(model, NECK_NAME, None)
    if isinstance(neck, nn.Module) and neck is not parts.get('head'):
        parts['neck'] = neck
    for group, module in parts.items():
        part_keys = set(keys_of(module)) - saved
        saved |= part_keys
        groups[group] = [k for k in state if k in part_keys and k in params]

    taken = set(groups['adapters']) | set(groups['neck']) | set(groups['head'])
    for pattern in extra_trainable:
        regex = re.compile(pattern)
        matched = [k for k in state if k in params and regex.search(k)]
        if not matched:
            raise _unmatched_pattern(model, pattern, state, params)
        for key in matched:
            if key not in taken:
                groups['other'].append(key)
                taken.add(key)
        saved.update(matched)
    saved |= _trained_norm_statistics(model, key_of, taken)

    if not taken:
        raise PlanArgumentError(
            f'Nothing would train in {type(model).__name__} with '
            f'AdapterHook mode={mode!r}: no head attribute among '
            f'{list(head)}, no neck and no extra_trainable parameters.')
    return TrainablePlan(
        mode=mode,
        groups=groups,
        saved_keys=[k for k in state if k in saved],
        frozen_keys=[k for k in state if k not in saved],
        head_name=head_name,
        numels={k: v.numel()
                for k, v in state.items()})


def _trained_norm_statistics(model: nn.Module, key_of: Dict[int, str],
                             trained: set) -> set:
    """The state-dict keys of the running statistics of every batch norm
    that tracks them and has one of its own parameters in ``trained``.

    Such a norm runs in train mode (:func:`frozen_batch_norms` does not list
    it), so its statistics change as it trains: they train with it.
    """
    keys = set()
    for module in model.modules():
        if not tracks_running_stats(module):
            continue
        own = [key_of.get(id(p)) for p in module.parameters(recurse=False)]
        if trained.intersection(own):
            keys.update(key_of[id(b)] for b in module.buffers(recurse=False)
                        if id(b) in key_of)
    return keys


def apply_trainable(model: nn.Module, plan: TrainablePlan) -> None:
    """Set ``requires_grad`` as ``plan`` says: only its groups train, and
    mark the model's frozen-host wrappers ``plan_applied``.

    Args:
        model (nn.Module): The model the plan was made for.
        plan (TrainablePlan): From :func:`plan_trainable`.
    """
    trainable = set(plan.trainable_keys)
    for key, value in model.state_dict(keep_vars=True).items():
        if isinstance(value, nn.Parameter):
            value.requires_grad_(key in trainable)
    for module in model.modules():
        # A frozen-host wrapper (found without importing the wrappers,
        # which import this package) refuses a backward that would train
        # its host while no plan was applied.
        if isinstance(getattr(module, 'plan_applied', None), bool):
            module.plan_applied = True


def frozen_batch_norms(model: nn.Module,
                       plan: TrainablePlan) -> List[nn.Module]:
    """The batch norms whose every tensor ``plan`` freezes.

    In train mode a batch norm updates its running statistics, which are
    part of the frozen backbone (e.g. the convolution stages of UniFormer):
    they must run in eval mode while the rest of the model trains. A batch
    norm of the head, or one with a trainable tensor, is not listed: it
    runs in train mode, and :func:`plan_trainable` saves its running
    statistics with its parameters, so they are not frozen keys.

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
