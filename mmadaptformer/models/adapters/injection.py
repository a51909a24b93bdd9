# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Attach AdaptMLPs to the transformer blocks of any built ``nn.Module``.

The host blocks are left untouched: each adapter becomes the block's
``adaptmlp`` child (so checkpoints keep the host's keys plus
``<block>.adaptmlp.*``) and is wired in with forward hooks.

How a block is wired. Let ``x`` be the residual stream after the attention
sub-layer and ``h = DropPath(MLP(LN2(x)))`` the complete feed-forward branch
just before the block adds it to ``x``. AdaptFormer replaces ``h`` with

* ``h + s * AdaptMLP(x)`` (``placement='parallel'``, the paper's default), or
* ``h + s * AdaptMLP(h)`` (``placement='sequential'``, the ablation).

A forward pre-hook on the block's second norm (``norm``) captures ``x``; a
forward hook on the module that produces ``h`` (``branch``) rewrites its
output. Both run inside the block's own forward, so they are recomputed with
the block under ``torch.utils.checkpoint`` (reentrant or not).

Which module is ``norm``, ``ffn`` and ``branch`` of each block type, and
how the blocks are found: :mod:`mmadaptformer.models.adapters.block_wiring`.

A reversible host (RevViT) runs its blocks in a custom autograd function
whose backward recomputes each block's ``G`` by calling ``norm`` and
``ffn`` again, so the hooks add the adapter there too and the
recomputation stays exact; :mod:`.reversible_input` makes that backward
run when the host is frozen. A drop path that such a block builds inline
(``inline_drop_path``) cannot be kept off the adapter, so a block with one
is refused, naming the ``layers`` without.

A block whose feed-forward network changes the width (e.g. MViT's block
before a width change with ``dim_mul_in_attention=False``, whose residual
stream is a projection of ``norm``'s output) has no ``x + h`` to adapt. The
width is read from the last ``nn.Linear`` registered in ``ffn``; such a
block is refused before the model changes, naming the ``layers`` to use.
So is a declared block whose ``norm`` normalises channels-first maps
(PoolFormer's GroupNorm, ConvNeXt's LayerNorm2d). These refusals:
:mod:`.block_refusals`.
"""
import logging
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

from mmengine.logging import print_log
from torch import nn

from ...utils.config_error import ConfigError
from ..hosts import block_like_types, qualname, supported_backbones
from .adapt_mlp import AdaptMLP, check_adapter_args
from .block_refusals import (check_channels_last, check_no_inline_drop_path,
                             check_width_kept)
from .block_wiring import (block_type_example, check_block_types,
                           default_branch, embed_dims, find_blocks, get_module,
                           unmatched_block_types)
from .branch_scaling import check_undeclared_branch
from .input_sized_state import hook_input_sized_state, unhook_input_sized_state
from .reversible_input import (find_reversible_inputs, hook_reversible_inputs,
                               unhook_reversible_inputs)
from .router import ADAPTER_ATTR, AdapterRouter

PLACEMENTS = ('parallel', 'sequential')
_ADAPTER_KEYS = ('bottleneck', 'scale', 'dropout', 'norm', 'init')
#: The arguments of :func:`inject_adapters` that a config writes beside
#: ``adapter`` (in ``AdaptFormer``), named when given inside it.
_INJECTION_KEYS = ('layers', 'placement', 'block_types')

#: The declaration of mmcv's pre-norm ``BaseTransformerLayer``
#: (``operation_order ('norm', 'self_attn', 'norm', 'ffn')``), word for
#: word as the README's "Writing your own config" gives it for TimeSformer's
#: space-only layers, so that the error can be copied into a config.
BASE_TRANSFORMER_LAYER_BLOCK_TYPES = (
    "block_types=[dict(type='BaseTransformerLayer', norm='norms.1', "
    "ffn='ffns.0')]")

#: TimeSformer's ``attention_type`` values that build its layers as mmcv's
#: generic ``BaseTransformerLayer`` + ``FFN``, whose wiring no host claims
#: (``'divided_space_time'`` builds an ``FFNWithNorm``, which is claimed).
_TIMESFORMER_MMCV_LAYERS = ('space_only', 'joint_space_time')


def _select(num_blocks: int, layers: Optional[Sequence[int]],
            key: str) -> List[int]:
    """Validate ``layers`` (the config key ``key``); negative indices
    count from the end."""
    if layers is None:
        return list(range(num_blocks))
    if isinstance(layers, (int, str)) or not isinstance(layers, Sequence):
        raise ConfigError(
            f'{key} must be a list of block indices or None, but got '
            f'{layers!r}.')
    selected = []
    for layer in layers:
        if isinstance(layer, bool) or not isinstance(layer, int):
            raise ConfigError(f'{key} must contain ints, but got {layer!r} in '
                              f'{list(layers)!r}.')
        if not -num_blocks <= layer < num_blocks:
            raise ConfigError(
                f'{key}={list(layers)!r} contains {layer}, but the model has '
                f'{num_blocks} adaptable blocks, so valid indices are '
                f'0..{num_blocks - 1} (or -{num_blocks}..-1).')
        index = layer % num_blocks
        if index in selected:
            raise ConfigError(
                f'{key}={list(layers)!r} selects block {index} more than '
                'once.')
        selected.append(index)
    if not selected:
        raise ConfigError(f'{key} is empty; use None to adapt every block.')
    return selected


def _per_layer_bottlenecks(bottleneck: Union[int, Sequence[int]],
                           names: List[str], key: str) -> List[int]:
    """One bottleneck per adapted block from ``bottleneck`` (the config
    key ``key``)."""
    if isinstance(bottleneck, Sequence) and not isinstance(bottleneck, str):
        if len(bottleneck) != len(names):
            raise ConfigError(
                f'{key} lists {len(bottleneck)} values, but {len(names)} '
                'blocks are adapted; give one per adapted block, in the '
                'order of layers, or one int for all. Got '
                f'{list(bottleneck)!r}.')
        for name, value in zip(names, bottleneck):
            if not _is_positive_int(value):
                raise ConfigError(
                    f'{key} must hold positive ints, but got {value!r} for '
                    f'block {name!r} in {list(bottleneck)!r}.')
        return list(bottleneck)
    if not _is_positive_int(bottleneck):
        raise ConfigError(
            f'{key} must be a positive int (or a list of one per adapted '
            f'block), but got {bottleneck!r}.')
    return [bottleneck] * len(names)


def _is_positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) \
        and value > 0


def _declare_blocks_hint(model: nn.Module) -> str:
    """What to declare, for the error that no known block was found."""
    for module in model.modules():
        attention = getattr(module, 'attention_type', None)
        if type(module).__name__ == 'TimeSformer' and \
                attention in _TIMESFORMER_MMCV_LAYERS:
            return (
                f'TimeSformer with attention_type={attention!r} builds its '
                "layers as mmcv's generic BaseTransformerLayer (operation_"
                "order ('norm', 'self_attn', 'norm', 'ffn')), which is not "
                f'wired by default: add {BASE_TRANSFORMER_LAYER_BLOCK_TYPES} '
                'to the AdaptFormer config (model.backbone, next to its '
                "backbone=dict(type='TimeSformer', ...)), the declaration "
                'the README\'s "Writing your own config" documents for '
                'these layers.')
    example = block_type_example()
    if any(
            type(m).__name__ == 'BaseTransformerLayer'
            for m in model.modules()):
        example = (f'{BASE_TRANSFORMER_LAYER_BLOCK_TYPES} for pre-norm '
                   "layers (operation_order ('norm', 'self_attn', 'norm', "
                   "'ffn'))")
    return ('If it has transformer blocks, declare which norm precedes the '
            'feed-forward network and which attribute is the feed-forward '
            f'network in the config, e.g. {example}; a network without '
            'them (a CNN) cannot take AdaptFormer\'s adapters. Supported '
            f'as they are: {supported_backbones()} (the README\'s "Writing '
            'your own config").')


def inject_adapters(model: nn.Module,
                    adapter: Optional[dict] = None,
                    layers: Optional[Sequence[int]] = None,
                    placement: str = 'parallel',
                    block_types: Optional[Sequence[dict]] = None,
                    config_key: str = 'model.backbone') -> List[str]:
    """Add AdaptFormer's AdaptMLP to the transformer blocks of a model.

    The blocks are found by type (see
    :data:`~mmadaptformer.models.adapters.block_wiring.KNOWN_BLOCK_TYPES`)
    in module order; the matching blocks are not searched for nested
    blocks. Each selected block gets an :class:`AdaptMLP` child named
    ``adaptmlp`` and hooks that add it to the feed-forward branch, as
    described in `AdaptFormer <https://arxiv.org/abs/2205.13535>`_. Nothing
    is frozen.

    Args:
        model (nn.Module): An already built (and initialised) model; it is
            modified in place.
        adapter (dict, optional): Arguments of :class:`AdaptMLP` except
            ``embed_dims``: ``bottleneck`` (an int, or a list with one int
            per selected block in the order of ``layers``), ``scale``,
            ``dropout`` and ``norm``. Defaults to None, i.e. ``dict()``.
        layers (Sequence[int], optional): Indices of the blocks to adapt,
            counted over the blocks found. Negative indices count from the
            end as in Python. Defaults to None, i.e. every block.
        placement (str): ``'parallel'`` adds ``s * AdaptMLP(x)`` next to the
            feed-forward branch; ``'sequential'`` applies
            ``h + s * AdaptMLP(h)`` to its output ``h``. Defaults to
            ``'parallel'``.
        block_types (Sequence[dict], optional): Extra or overriding block
            types, e.g. ``[dict(type='MyBlock', norm='norm2', ffn='mlp')]``.
            ``type`` is the class name (or ``module.qualname``), ``norm`` the
            attribute of the norm before the feed-forward network, ``ffn``
            that of the feed-forward network and the optional ``branch``
            that of the module whose output is the whole feed-forward branch
            right before the residual add. Dotted paths are allowed.
            Defaults to None.
        config_key (str): Where these arguments sit in a config, for the
            errors: a bad bottleneck is named as
            ``'<config_key>.adapter.bottleneck'``. Defaults to
            ``'model.backbone'``, the ``AdaptFormer`` of a recognizer or
            classifier config.

    Returns:
        list[str]: The names of the adapted blocks within ``model``.

    Raises:
        ConfigError: If an argument cannot work, naming its config key,
            its value and what is accepted; the model is then unchanged.

    Examples:
        >>> from mmpretrain.models import VisionTransformer
        >>> vit = VisionTransformer(arch='deit-tiny', img_size=32)
        >>> inject_adapters(vit, adapter=dict(bottleneck=8), layers=[0, -1])
        ['layers.0', 'layers.11']
    """
    adapter = {} if adapter is None else dict(adapter)
    unknown = set(adapter) - set(_ADAPTER_KEYS)
    if unknown:
        # `layers`, `placement` and `block_types` sit beside `adapter`,
        # not in it: say where to write one given inside.
        beside = [key for key in _INJECTION_KEYS if key in unknown]
        raise ConfigError(
            f'{config_key}.adapter has unknown keys {sorted(unknown)}; the '
            f'accepted keys are {list(_ADAPTER_KEYS)}.' +
            ''.join(f' {key} is a setting of {config_key} itself, beside '
                    f'adapter: write {config_key}.{key}.' for key in beside))
    # The bottleneck is checked per adapted block, once they are known.
    check_adapter_args(
        **{k: v
           for k, v in adapter.items() if k != 'bottleneck'},
        prefix=f'{config_key}.adapter.')
    if placement not in PLACEMENTS:
        raise ConfigError(f'{config_key}.placement must be one of '
                          f'{PLACEMENTS}, but got {placement!r}.')
    declared = check_block_types(block_types, key=f'{config_key}.block_types')

    blocks = find_blocks(model, declared)
    typo = unmatched_block_types(model, declared, f'{config_key}.block_types')
    if not blocks:
        found = block_like_types(model) or ['none']
        raise ConfigError(
            (f'{typo} ' if typo else '') + 'No transformer block of a known '
            f'type was found in {type(model).__name__}. Block-like modules '
            f'found: {", ".join(found)}. {_declare_blocks_hint(model)}')
    unused = set(declared) - {
        key
        for _, block, _ in blocks
        for key in (type(block).__name__, qualname(type(block)))
    }
    if unused:
        print_log(
            typo or f'block_types {sorted(unused)} matched no module of '
            f'{type(model).__name__}.',
            logger='current',
            level=logging.WARNING)

    layers_key = f'{config_key}.layers'
    selected = [blocks[i] for i in _select(len(blocks), layers, layers_key)]
    names = [name or type(block).__name__ for name, block, _ in selected]
    bottlenecks = _per_layer_bottlenecks(
        adapter.pop('bottleneck', 64), names,
        f'{config_key}.adapter.bottleneck')

    # Resolve and check everything before the model is modified.
    plans = []
    for (name, block, spec), label in zip(selected, names):
        if hasattr(block, ADAPTER_ATTR):
            raise ValueError(
                f'Block {label!r} ({type(block).__name__}) already has an '
                f'attribute {ADAPTER_ATTR!r}; adapters cannot be injected '
                'twice.')
        norm = get_module(block, spec['norm'], 'norm')
        ffn = get_module(block, spec['ffn'], 'ffn')
        if any(spec is mine for mine in declared.values()):
            check_channels_last(block, spec, label, norm,
                                f'{config_key}.block_types')
        dims = embed_dims(norm, ffn, block)
        check_width_kept(block, spec, label, ffn, dims, blocks, layers_key)
        check_no_inline_drop_path(block, spec, label, blocks, layers_key)
        if 'branch' in spec:
            branch_path = spec['branch']
            branch = get_module(block, branch_path, 'branch')
        else:
            branch, branch_path = default_branch(ffn, spec['ffn'])
            if branch is ffn:
                check_undeclared_branch(block, spec, label, norm, ffn, dims,
                                        f'{config_key}.block_types')
        plans.append((block, norm, branch, spec['norm'], branch_path, dims))
    reversible = find_reversible_inputs(model)
    # Building every adapter first also checks scale, dropout and norm.
    modules = [
        AdaptMLP(plan[-1], dim_hat, **adapter)
        for plan, dim_hat in zip(plans, bottlenecks)
    ]

    for (block, norm, branch, norm_path, branch_path, dims), label, module \
            in zip(plans, names, modules):
        param = next(block.parameters(), None)
        if param is not None and param.is_floating_point():
            module.to(device=param.device, dtype=param.dtype)
        setattr(block, ADAPTER_ATTR, module)
        block._adapter_router = AdapterRouter(block, norm, branch, placement,
                                              norm_path, branch_path)
        print_log(
            f'Add AdaptMLP to {label} ({type(block).__name__}): '
            f'{dims} -> {module.bottleneck} -> {dims}, {placement}, '
            f'{module.extra_repr()}',
            logger='current')
    for backbone in hook_reversible_inputs(reversible):
        print_log(
            f'{backbone}: the input of its reversible blocks requires a '
            'gradient in training, so that their custom backward, and '
            'with it the adapters, runs with the stem frozen.',
            logger='current')
    for name in hook_input_sized_state(model):
        print_log(
            f'{name}: its state, which its forward rebuilds for inputs of '
            'another size, is restored after each call, so the frozen '
            'backbone stays as loaded.',
            logger='current')
    return names


def adapter_modules(model: nn.Module) -> Dict[str, AdaptMLP]:
    """All :class:`AdaptMLP` modules of ``model``, found by type.

    Args:
        model (nn.Module): Any module.

    Returns:
        dict[str, AdaptMLP]: The adapters keyed by their module names, in
        module order.
    """
    return OrderedDict((name, module)
                       for name, module in model.named_modules()
                       if isinstance(module, AdaptMLP))


def adapter_parameter_names(model: nn.Module) -> List[str]:
    """Names (as in ``model.named_parameters()``) of all adapter parameters.

    Adapters are found by type, never by a name pattern, so the names are
    correct under any wrapper or prefix.

    Args:
        model (nn.Module): Any module.

    Returns:
        list[str]: The parameter names, in ``named_parameters`` order.
    """
    adapter_params = {
        id(param)
        for module in adapter_modules(model).values()
        for param in module.parameters()
    }
    return [
        name for name, param in model.named_parameters()
        if id(param) in adapter_params
    ]


def remove_adapters(model: nn.Module) -> List[str]:
    """Undo :func:`inject_adapters`: remove the adapters and their hooks.

    Args:
        model (nn.Module): A model given to :func:`inject_adapters`.

    Returns:
        list[str]: The names of the blocks the adapters were removed from.
    """
    removed = []
    for name, module in model.named_modules():
        router = module.__dict__.get('_adapter_router')
        if isinstance(router, AdapterRouter):
            router.remove()
            del module._adapter_router
            delattr(module, ADAPTER_ATTR)
            removed.append(name or type(module).__name__)
    unhook_reversible_inputs(model)
    unhook_input_sized_state(model)
    return removed
