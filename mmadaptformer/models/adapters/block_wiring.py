# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Find the transformer blocks of a model and resolve their wiring.

A block type is adapted by its ``norm`` (the norm right before the
feed-forward network), ``ffn`` (the feed-forward network) and optional
``branch`` (the module whose output is the whole feed-forward branch), as
:func:`~mmadaptformer.models.adapters.injection.inject_adapters` wires them.
The known types are :data:`KNOWN_BLOCK_TYPES`; a config declares others in
``block_types``.

``branch`` is, per block type:

* mmcv-style ``FFN`` with ``add_identity=True`` (mmpretrain ViT/DeiT, DeiT3,
  Swin): ``ffn.dropout_layer``, whose output is the branch after drop path
  and layer scale. Exact.
* mmaction ``Block`` (VideoMAE ViT) and ``SwinTransformerBlock3D``: the
  block's ``drop_path``. These blocks call ``drop_path`` for the attention
  branch too, so only its first call after ``norm`` is treated as ``h``.
  Exact.
* A declared type without ``branch``: as the first case if its ``ffn`` is
  FFN-like, else the ``ffn`` output itself. The latter is exact only if the
  block adds the ``ffn`` output to the residual unchanged (no drop path or
  layer scale in training); declare ``branch`` otherwise. A block that
  holds a layer scale or a drop path is refused until it declares
  ``branch`` (:mod:`.branch_scaling`).

A known type may add ``ffn_type`` (the type ``ffn`` must have for the
module to be a block, when the type also wraps other sub-layers: LeViT's
``Residual``) and ``inline_drop_path`` (see
:attr:`~mmadaptformer.models.HostSpec.inline_drop_path`).

The adapted "block" is whatever module holds ``norm``, the feed-forward
network and the residual add of the feed-forward branch. For TimeSformer
(divided space-time) that is the layer's ``FFNWithNorm`` itself,
``x + dropout_layer(layers(norm(x)))``. Paths are dotted attribute paths, and
the children of a ``ModuleList`` are attributes named by their index, so
``norm='norms.1', ffn='ffns.0'`` addresses mmcv's ``BaseTransformerLayer``.
"""
import difflib
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
from torch import nn

from ...utils.config_error import ConfigError
from ..hosts import HOSTS, qualname

__all__ = [
    'KNOWN_BLOCK_TYPES', 'block_type_example', 'check_block_types',
    'find_blocks', 'block_paths', 'get_module', 'default_branch', 'embed_dims',
    'ffn_out_dims', 'changes_width', 'inline_drop_prob', 'adapted_wiring',
    'BlockWiringError', 'unmatched_block_types'
]

#: How to adapt the transformer blocks of the supported hosts, keyed by the
#: block's ``module.qualname``. ``norm`` is the norm right before the
#: feed-forward network, ``ffn`` the feed-forward network and ``branch``
#: (optional) the module whose output is the whole feed-forward branch;
#: ``ffn_type`` and ``inline_drop_path`` where the host declares them.
#: Derived from :data:`mmadaptformer.models.hosts.HOSTS`.
KNOWN_BLOCK_TYPES: Dict[str, Dict[str, str]] = {
    spec.block: spec.wiring
    for spec in HOSTS
}

_BLOCK_TYPE_KEYS = ('type', 'norm', 'ffn', 'branch')


def block_type_example(type_name: str = 'MyBlock') -> str:
    """A ``block_types`` declaration for ``type_name``, for messages."""
    return (f"block_types=[dict(type='{type_name}', norm='norm2', "
            "ffn='mlp')]")


def check_block_types(
        block_types: Optional[Sequence[dict]],
        key: str = 'model.backbone.block_types') -> Dict[str, Dict[str, str]]:
    """Validate user declarations and key them by their ``type``.

    Args:
        block_types (Sequence[dict], optional): The declarations.
        key (str): Their config key, for the errors. Defaults to
            ``'model.backbone.block_types'``.

    Returns:
        dict[str, dict[str, str]]: ``type`` -> the rest of its declaration.

    Raises:
        ConfigError: Naming ``key`` (``key[i]`` for one declaration), the
            value and a declaration that works.
    """
    if block_types is None:
        return {}
    if isinstance(block_types, (dict, str)) or \
            not isinstance(block_types, Sequence):
        raise ConfigError(f'{key} must be a list of dicts such as '
                          f'{block_type_example()}, but got {block_types!r}.')
    declared = {}
    for i, spec in enumerate(block_types):
        if not isinstance(spec, dict):
            raise ConfigError(
                f'{key}[{i}] must be a dict such as '
                f"dict(type='MyBlock', norm='norm2', ffn='mlp'), but got "
                f'{spec!r}.')
        unknown = set(spec) - set(_BLOCK_TYPE_KEYS)
        if unknown:
            raise ConfigError(
                f'{key}[{i}] has unknown keys {sorted(unknown)}; the '
                f'accepted keys are {list(_BLOCK_TYPE_KEYS)}.')
        for name in ('type', 'norm', 'ffn'):
            if not isinstance(spec.get(name), str) or not spec[name]:
                raise ConfigError(
                    f'{key}[{i}] needs a non-empty string {name!r}, '
                    f'e.g. {block_type_example()}, but got {spec!r}.')
        if 'branch' in spec and (not isinstance(spec['branch'], str)
                                 or not spec['branch']):
            raise ConfigError(
                f"{key}[{i}]['branch'] must be a non-empty string, "
                f"but got {spec['branch']!r}.")
        declared[spec['type']] = {k: v for k, v in spec.items() if k != 'type'}
    return declared


def _spec_for(module: nn.Module,
              declared: Dict[str, Dict[str, str]]) -> Optional[dict]:
    """The declared or known spec of ``module``'s exact type, if any."""
    cls = type(module)
    for key in (qualname(cls), cls.__name__):
        if key in declared:
            return declared[key]
    # Exact types only: subclasses (e.g. BEiT's layer) may change forward.
    spec = KNOWN_BLOCK_TYPES.get(qualname(cls))
    if spec is not None and 'ffn_type' in spec:
        ffn = module
        for attr in spec['ffn'].split('.'):
            ffn = getattr(ffn, attr, None)
        if qualname(type(ffn)) != spec['ffn_type']:
            return None  # e.g. LeViT's Residual around an attention
    return spec


def find_blocks(
        model: nn.Module,
        declared: Dict[str, dict]) -> List[Tuple[str, nn.Module, dict]]:
    """Blocks with a spec, in module order, without looking inside them."""
    found, seen = [], set()

    def visit(name: str, module: nn.Module) -> None:
        if id(module) in seen:
            return
        seen.add(id(module))
        spec = _spec_for(module, declared)
        if spec is not None:
            found.append((name, module, spec))
            return
        for child_name, child in module.named_children():
            visit(f'{name}.{child_name}' if name else child_name, child)

    visit('', model)
    return found


def unmatched_block_types(model: nn.Module, declared: Iterable[str],
                          key: str) -> str:
    """A sentence naming the declared block types that match no module of
    ``model``, with the closest class name of its modules for each; empty if
    every one matches.

    Args:
        model (nn.Module): The model searched.
        declared (Iterable[str]): The declared ``type`` values.
        key (str): The config key of the declarations, for the sentence.

    Returns:
        str: E.g. ``"model.backbone.block_types declares type
        'PoolFormerBlok', which no module of PoolFormer has (did you mean
        'PoolFormerBlock'?)."``
    """
    names = {type(m).__name__ for m in model.modules()}
    names |= {qualname(type(m)) for m in model.modules()}
    unmatched = sorted(set(declared) - names)
    if not unmatched:
        return ''
    parts = []
    for name in unmatched:
        close = difflib.get_close_matches(name, sorted(names), n=1)
        parts.append(
            repr(name) + (f' (did you mean {close[0]!r}?)' if close else ''))
    return (f'{key} declares type {", ".join(parts)}, which no module of '
            f'{type(model).__name__} has.')


def block_paths(model: nn.Module,
                block_types: Optional[Sequence[dict]] = None) -> List[str]:
    """Paths of the transformer blocks
    :func:`~mmadaptformer.models.adapters.injection.inject_adapters` would
    find.

    Blocks are matched by exact type (see :data:`KNOWN_BLOCK_TYPES`) or by
    the declared ``block_types``, in module order; the matching blocks are
    not searched for nested blocks.

    Args:
        model (nn.Module): Any module.
        block_types (Sequence[dict], optional): Declarations as for
            :func:`~mmadaptformer.models.adapters.injection.inject_adapters`.
            Defaults to None.

    Returns:
        list[str]: Module names of the blocks, in module order.
    """
    return [
        name
        for name, _, _ in find_blocks(model, check_block_types(block_types))
    ]


class BlockWiringError(AttributeError):
    """A ``block_types`` entry names a module its block does not have."""


def get_module(block: nn.Module, path: str, role: str) -> nn.Module:
    """Resolve a dotted attribute path declared as ``role`` of ``block``."""
    obj = block
    for attr in path.split('.'):
        obj = getattr(obj, attr, None)
    if not isinstance(obj, nn.Module):
        cls = type(block).__name__
        children = [name for name, _ in block.named_children()]
        norm, ffn = _guess_wiring(children)
        raise BlockWiringError(
            f'{cls} has no module {path!r}, which block_types declares as '
            f'its {role}. Its child modules are {children}; declare the '
            f"right ones, e.g. block_types=[dict(type='{cls}', "
            f'norm={norm!r}, ffn={ffn!r})].')
    return obj


def _guess_wiring(children: Sequence[str]) -> Tuple[str, str]:
    """The ``norm`` and ``ffn`` a block with the child modules
    ``children`` likely has, for an example: its first child named like a
    feed-forward network (``ffn``, ``mlp``) and the last norm-like child
    (``norm*``, ``ln*``) before it; ``'norm2'`` and ``'mlp'`` where none
    is found."""
    ffns = [name for name in children if 'ffn' in name or 'mlp' in name]
    ffn = ffns[0] if ffns else 'mlp'
    before = children[:children.index(ffn)] if ffns else children
    norms = [
        name for name in before
        if 'norm' in name.lower() or name.lower().startswith('ln')
    ]
    return (norms[-1] if norms else 'norm2'), ffn


def default_branch(ffn: nn.Module, ffn_path: str) -> Tuple[nn.Module, str]:
    dropout_layer = getattr(ffn, 'dropout_layer', None)
    if getattr(ffn, 'add_identity', False) and \
            isinstance(dropout_layer, nn.Module):
        # mmcv FFN and alike: identity + dropout_layer(gamma2(layers(x))).
        return dropout_layer, f'{ffn_path}.dropout_layer'
    return ffn, ffn_path


def adapted_wiring(
        model: nn.Module,
        adapted: Iterable[nn.Module],
        block_types: Optional[Sequence[dict]] = None) -> List[Dict[str, str]]:
    """How the adapters of the ``adapted`` blocks are wired, per block type.

    One ``dict(type, norm, ffn, branch)`` per block type among the
    ``adapted`` blocks of ``model``, in module order: ``type`` is the class
    name, ``norm`` and ``ffn`` are as ``block_types`` declares them or as
    :data:`KNOWN_BLOCK_TYPES` knows them, ``branch`` is the module whose
    output the adapter is added to (declared, else that of
    :func:`default_branch`). Plain strings, lists and dicts: a checkpoint
    keeps it as it is, and it compares equal after a save and load.

    Args:
        model (nn.Module): The model the adapters were injected into.
        adapted (Iterable[nn.Module]): The blocks that hold an adapter.
        block_types (Sequence[dict], optional): The declarations the
            adapters were injected with. Defaults to None.

    Returns:
        list[dict[str, str]]: The wiring of each adapted block type.
    """
    wanted = {id(block) for block in adapted}
    wiring = []
    for _, block, spec in find_blocks(model, check_block_types(block_types)):
        if id(block) not in wanted:
            continue
        branch = spec.get('branch') or default_branch(
            get_module(block, spec['ffn'], 'ffn'), spec['ffn'])[1]
        entry = dict(
            type=type(block).__name__,
            norm=spec['norm'],
            ffn=spec['ffn'],
            branch=branch)
        if entry not in wiring:
            wiring.append(entry)
    return wiring


def embed_dims(norm: nn.Module, ffn: nn.Module, block: nn.Module) -> int:
    shape = getattr(norm, 'normalized_shape', None)
    if shape:
        return int(shape[-1])
    weight = getattr(norm, 'weight', None)
    if isinstance(weight, torch.Tensor) and weight.dim() == 1:
        return weight.numel()
    dims = getattr(ffn, 'embed_dims', None)
    if isinstance(dims, int):
        return dims
    # No norm in front (LeViT's MLP is its own "norm"): the FFN's input.
    linears = [m for m in ffn.modules() if isinstance(m, nn.Linear)]
    if linears:
        return linears[0].in_features
    raise ValueError(
        f'Cannot infer the feature dimension of {type(block).__name__}: its '
        f'norm {type(norm).__name__} has neither normalized_shape nor a 1-D '
        'weight, and its ffn has neither an int embed_dims nor an '
        'nn.Linear.')


def ffn_out_dims(ffn: nn.Module) -> Optional[int]:
    """Output width of ``ffn``: that of its last registered ``nn.Linear``."""
    linears = [m for m in ffn.modules() if isinstance(m, nn.Linear)]
    return linears[-1].out_features if linears else None


def changes_width(block: nn.Module, spec: dict) -> bool:
    """Whether the feed-forward network of ``block`` changes the width."""
    norm = get_module(block, spec['norm'], 'norm')
    ffn = get_module(block, spec['ffn'], 'ffn')
    return ffn_out_dims(ffn) not in (None, embed_dims(norm, ffn, block))


def inline_drop_prob(block: nn.Module, spec: dict) -> float:
    """Drop probability of the drop path ``block`` builds inline on its
    feed-forward branch (``inline_drop_path``), 0 if it declares none."""
    attr = spec.get('inline_drop_path')
    cfg = getattr(block, attr, None) if attr is not None else None
    return float(cfg.get('drop_prob', 0.)) if isinstance(cfg, dict) else 0.
