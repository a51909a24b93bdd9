# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which of a model's state-dict keys a checkpoint may lack.

A fresh start legitimately initialises some tensors that a checkpoint of
the same architecture need not hold (:func:`fresh_keys`): the adapters and
prompts this package adds (:func:`added_keys`), the head and the final
normalisation layers, but not the norms inside the transformer blocks
(:func:`block_keys`). :mod:`.state_dict_check` allows exactly these, and
the integer buffers (:func:`index_keys`) that any checkpoint may lack.
"""
from typing import Callable, Iterable, Iterator, Sequence, Set

import torch
from torch import nn

__all__ = [
    'BACKBONE_PREFIX', 'WHOLE_MODEL_PREFIXES', 'HEAD_NAMES', 'NECK_NAME',
    'added_keys', 'block_keys', 'fresh_keys', 'held_keys',
    'holds_under_half_the_blocks', 'index_keys', 'needed_keys'
]

#: State-dict prefix of the backbone in MMAction2's recognizers and
#: MMPretrain's classifiers (the wrappers keep the host's keys under it).
BACKBONE_PREFIX = 'backbone.'
#: The prefixes under which a whole model's checkpoint holds its backbone:
#: MMEngine's, with DDP's ``module.`` in front first.
WHOLE_MODEL_PREFIXES = ('module.' + BACKBONE_PREFIX, BACKBONE_PREFIX)

#: Attribute names of a model's head, tried in order: ``cls_head`` of an
#: MMAction2 recognizer, ``head`` of an MMPretrain classifier.
HEAD_NAMES = ('cls_head', 'head')
#: Attribute name of the optional neck between backbone and head, in both
#: MMAction2 recognizers and MMPretrain classifiers.
NECK_NAME = 'neck'

_NORM_TYPES = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm,
               nn.modules.instancenorm._InstanceNorm)


def block_keys(model: nn.Module) -> Set[str]:
    """State-dict keys of the tensors in the model's stacks of blocks.

    A stack is an ``nn.ModuleList`` or ``nn.Sequential``; its elements are
    the transformer blocks (mmaction2's ``blocks``, mmpretrain's
    ``layers``), stages and downsampling layers, and everything inside them
    counts. Found by container type, never by name. What lies outside every
    stack is the stem (patch embedding, tokens) and the final norms
    (``fc_norm``, ``norm``, ``ln1``/``ln2``, ``pre_norm``).

    Args:
        model (nn.Module): Any module.

    Returns:
        set[str]: The keys, as in ``model.state_dict()``.
    """
    return _keys_of(model, _stacked_tensors(model))


def _stacked_tensors(model: nn.Module) -> Set[int]:
    """``id()`` of the tensors of :func:`block_keys`."""
    tensors: Set[int] = set()
    for module in model.modules():
        if isinstance(module, (nn.ModuleList, nn.Sequential)):
            for child in module.children():
                tensors.update(id(t) for t in _tensors(child))
    return tensors


def _tensors(module: nn.Module) -> Iterator[torch.Tensor]:
    yield from module.parameters()
    yield from module.buffers()


# yapf: disable
def fresh_keys(model: nn.Module,
               head: Sequence[str] = HEAD_NAMES) -> Set[str]:
    # yapf: enable
    """State-dict keys that a fresh start initialises on purpose.

    They are found by type and attribute, never by name: the tensors that
    a module declares with a ``fresh_tensors()`` method (the adapters,
    :class:`~mmadaptformer.models.AdaptMLP`, and the wrappers' own
    parameters such as the VPT prompts), those of the model's head (the
    first of ``head`` that is an attribute) and neck (:data:`NECK_NAME`:
    no backbone checkpoint holds it, and AdapterHook trains it with the
    head), and of the final normalisation
    layers (which start as the identity, e.g. the ``fc_norm`` a
    mean-pooling ViT adds to a self-supervised encoder).

    A norm inside a block (:func:`block_keys`, e.g. ``blocks.0.norm2``) is
    not fresh: every checkpoint of the architecture holds it, so one that
    lacks it is damaged or of another layout, and the identity in its place
    changes every feature after it.

    Args:
        model (nn.Module): The model the state dict is loaded into.
        head (Sequence[str]): Attribute names of the head, tried in order.
            Defaults to :data:`HEAD_NAMES`.

    Returns:
        set[str]: The keys, as in ``model.state_dict()``.
    """
    stacked = _stacked_tensors(model)
    tensors: Set[int] = set()
    for module in model.modules():
        if isinstance(module, _NORM_TYPES):
            tensors.update(
                id(t) for t in _tensors(module) if id(t) not in stacked)
        if callable(getattr(type(module), 'fresh_tensors', None)):
            tensors.update(id(t) for t in module.fresh_tensors())
    for name in head:
        module = getattr(model, name, None)
        if isinstance(module, nn.Module):
            tensors.update(id(t) for t in _tensors(module))
            break
    neck = getattr(model, NECK_NAME, None)
    if isinstance(neck, nn.Module):
        tensors.update(id(t) for t in _tensors(neck))
    return _keys_of(model, tensors)


def added_keys(model: nn.Module) -> Set[str]:
    """State-dict keys of the tensors this package adds to a host.

    These are the tensors that modules declare with a ``fresh_tensors()``
    method (the adapters, the VPT prompts): a checkpoint of the host alone
    never holds them, so their absence from it is expected.

    Args:
        model (nn.Module): The model.

    Returns:
        set[str]: The keys, as in ``model.state_dict()``; a subset of
        :func:`fresh_keys`.
    """
    return _keys_of(
        model, {
            id(t)
            for module in model.modules()
            if callable(getattr(type(module), 'fresh_tensors', None))
            for t in module.fresh_tensors()
        })


def index_keys(model: nn.Module) -> Set[str]:
    """State-dict keys of the model's integer buffers, which a checkpoint
    may lack without losing anything.

    These are index tables the model computes from its settings when it
    is built (the ``relative_position_index`` of BEiT, Swin and HiViT
    attention) and the batch norms' ``num_batches_tracked`` counters: no
    training step learns them, so a model that keeps its own loses no
    weight. Checkpoints often lack them: mmpretrain's BEiT expands a
    pre-training checkpoint's shared relative position bias into one table
    per block, for which it holds no index, and deletes the index of a
    table it resizes; converters leave them out. Found by dtype, never by
    name.

    Args:
        model (nn.Module): Any module.

    Returns:
        set[str]: The keys, as in ``model.state_dict()``.
    """
    return {
        key
        for key, value in model.state_dict(keep_vars=True).items()
        if torch.is_tensor(value) and not value.is_floating_point()
        and not value.is_complex() and not isinstance(value, nn.Parameter)
    }


def needed_keys(model: nn.Module) -> Set[str]:
    """State-dict keys of the tensors every full checkpoint of the model
    holds: all but :func:`fresh_keys` and :func:`index_keys`.

    Args:
        model (nn.Module): Any module.

    Returns:
        set[str]: The keys, as in ``model.state_dict()``.
    """
    return {
        key
        for key, value in model.state_dict(keep_vars=True).items()
        if torch.is_tensor(value)
    } - fresh_keys(model) - index_keys(model)


def _keys_of(model: nn.Module, tensors: Set[int]) -> Set[str]:
    return {
        key
        for key, value in model.state_dict(keep_vars=True).items()
        if id(value) in tensors
    }


def held_keys(keys: Iterable) -> Set:
    """The keys of a state dict as a model's ``state_dict()`` names them:
    DDP's ``module.`` prefix removed (keys that are no string kept as
    they are).

    Args:
        keys (Iterable): The state dict, or its keys.

    Returns:
        set: The keys.
    """
    return {
        k[len('module.'):]
        if isinstance(k, str) and k.startswith('module.') else k
        for k in keys
    }


def holds_under_half_the_blocks(module: nn.Module, own: Callable[[str], bool],
                                held: Callable[[str], bool]) -> bool:
    """Whether a state dict holds under half the elements of a module's
    block tensors: the rule that tells an adapter-only checkpoint from a
    full one (parameter-efficient training leaves the blocks' weight
    matrices frozen, and they hold nearly all of their elements; counting
    keys would not do, as the biases and norms alone are more than half of
    a ViT block's keys).

    Args:
        module (nn.Module): The model or host whose tensors are counted.
        own (Callable[[str], bool]): Which of its state-dict keys count
            (e.g. not the adapters this package adds).
        held (Callable[[str], bool]): Whether the state dict holds a key.

    Returns:
        bool: True if it holds under half the elements of the counted
        block tensors (:func:`block_keys`; all counted tensors for a
        module without blocks); False where nothing is counted.
    """
    sizes = {
        key: value.numel()
        for key, value in module.state_dict(keep_vars=True).items() if own(key)
    }
    blocks = block_keys(module).intersection(sizes) or set(sizes)
    total = sum(sizes[key] for key in blocks)
    return bool(total) and 2 * sum(sizes[key]
                                   for key in blocks if held(key)) < total
