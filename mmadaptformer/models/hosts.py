# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What the package knows about each supported host backbone, in one place.

Every feature that depends on a host's internals reads this table: adapter
injection (block wiring), VPT (where prompts can go), the fused attention,
the contiguous token sequence and the head-width check (the width of the
features). Supporting a new host means adding one :class:`HostSpec` to
:mod:`~mmadaptformer.models.hosts_mmaction` or
:mod:`~mmadaptformer.models.hosts_mmpretrain`, not editing one table per
feature.

Types are matched by their exact ``module.qualname`` (see :func:`qualname`):
subclasses, e.g. BEiT's layer, may change ``forward`` and are not matched.
"""
import importlib
from collections import OrderedDict
from typing import Any, Callable, Dict, Optional, Tuple

from .host_spec import HostSpec, block_like_types, qualname
from .hosts_mmaction import MMACTION_HOSTS
from .hosts_mmpretrain import MMPRETRAIN_HOSTS

__all__ = [
    'HostSpec', 'HOSTS', 'qualname', 'block_like_types', 'host_block_wiring',
    'promptable_block_types', 'fused_attention_types', 'token_embed_attrs',
    'non_batch_first_block_types', 'side_stream_backbones',
    'stream_input_counts', 'reversible_input_attrs', 'own_pretrained_attrs',
    'own_pretrained_advice', 'own_pretrained_keys', 'pretrained_names',
    'pretrained_readers', 'own_layout_checks', 'feature_width_readers',
    'input_sized_state_attrs', 'output_checks', 'init_cfg_none_failing',
    'resolve', 'supported_backbones'
]

#: The supported hosts.
HOSTS: Tuple[HostSpec, ...] = MMACTION_HOSTS + MMPRETRAIN_HOSTS


def supported_backbones() -> str:
    """The supported hosts' backbone classes by toolbox, for an error:
    ``'mmaction2 VisionTransformer (VideoMAE), ...; mmpretrain ...'``."""
    toolboxes = OrderedDict([('mmaction', []), ('mmpretrain', [])])
    for spec in HOSTS:
        package = spec.backbone.split('.', 1)[0]
        name = spec.backbone.rsplit('.', 1)[1]
        if spec.backbone.endswith('vit_mae.VisionTransformer'):
            name += ' (VideoMAE)'
        names = toolboxes.setdefault(package, [])
        if name not in names:
            names.append(name)
    return '; '.join(f'{package}{"2" if package == "mmaction" else ""} '
                     f'{", ".join(names)}'
                     for package, names in toolboxes.items() if names)


def non_batch_first_block_types() -> Dict[str, str]:
    """Block qualname -> backbone qualname of the hosts whose blocks are
    not batch-first (see :attr:`HostSpec.batch_first`)."""
    return {
        spec.block: spec.backbone
        for spec in HOSTS if not spec.batch_first
    }


def side_stream_backbones() -> Dict[str, Tuple[str, str]]:
    """Backbone qualname -> (block qualname, what it carries beside its
    blocks) of the hosts with a :attr:`HostSpec.side_stream`."""
    return {
        spec.backbone: (spec.block, spec.side_stream)
        for spec in HOSTS if spec.side_stream is not None
    }


def stream_input_counts() -> Dict[str, int]:
    """Block qualname -> :attr:`HostSpec.stream_inputs`, where not 1."""
    return {
        spec.block: spec.stream_inputs
        for spec in HOSTS if spec.stream_inputs != 1
    }


def host_block_wiring() -> Dict[str, Dict[str, str]]:
    """Block wiring of every host, keyed by the block's qualname."""
    return {spec.block: spec.wiring for spec in HOSTS}


def promptable_block_types() -> Tuple[str, ...]:
    """Qualnames of the blocks VPT can prompt, in table order."""
    return tuple(
        OrderedDict((spec.block, None) for spec in HOSTS if spec.promptable))


def fused_attention_types() -> Dict[str, str]:
    """Attention qualname -> name of its fused forward."""
    return {
        spec.attention: spec.fused_forward
        for spec in HOSTS if spec.attention is not None
    }


def token_embed_attrs() -> Dict[str, str]:
    """Backbone qualname -> attribute of its transposed-token embedding."""
    return {
        spec.backbone: spec.token_embed
        for spec in HOSTS if spec.token_embed is not None
    }


def reversible_input_attrs() -> Dict[str, str]:
    """Backbone qualname -> attribute whose output enters its reversible
    autograd function (see :attr:`HostSpec.reversible_input`)."""
    return {
        spec.backbone: spec.reversible_input
        for spec in HOSTS if spec.reversible_input is not None
    }


def own_pretrained_attrs() -> Dict[str, Dict[str, Any]]:
    """Backbone qualname -> the attribute values that stop it loading the
    weights it names itself (see :attr:`HostSpec.own_pretrained`)."""
    return {
        spec.backbone: dict(spec.own_pretrained)
        for spec in HOSTS if spec.own_pretrained
    }


def own_pretrained_advice() -> Dict[str, str]:
    """Backbone qualname -> how to give it the weights it reads itself
    (see :attr:`HostSpec.own_pretrained_advice`)."""
    return {
        spec.backbone: spec.own_pretrained_advice
        for spec in HOSTS if spec.own_pretrained_advice is not None
    }


def own_pretrained_keys() -> Dict[str, Optional[str]]:
    """Backbone qualname -> the key its own loading of a file reads the
    weights under, for those that read their own ``pretrained`` (see
    :attr:`HostSpec.own_pretrained_key`)."""
    return {
        spec.backbone: spec.own_pretrained_key
        for spec in HOSTS if spec.own_pretrained
    }


def pretrained_names() -> Dict[str, Tuple[str, Tuple[str, ...]]]:
    """Backbone qualname -> ``(flag, names)``: while ``flag`` is true its
    own ``pretrained`` is one of ``names`` (see
    :attr:`HostSpec.pretrained_names`)."""
    return {
        spec.backbone: spec.pretrained_names
        for spec in HOSTS if spec.pretrained_names is not None
    }


def pretrained_readers() -> Dict[str, str]:
    """Backbone qualname -> dotted name of the function that reads its
    pretrained file (see :attr:`HostSpec.pretrained_reader`)."""
    return {
        spec.backbone: spec.pretrained_reader
        for spec in HOSTS if spec.pretrained_reader is not None
    }


def own_layout_checks() -> Dict[str, str]:
    """Backbone qualname -> dotted name of the function that tells a file
    its own loading converts (see :attr:`HostSpec.own_layout`)."""
    return {
        spec.backbone: spec.own_layout
        for spec in HOSTS if spec.own_layout is not None
    }


def feature_width_readers() -> Dict[str, str]:
    """Backbone qualname -> dotted name of the function that reads the
    width of its features (see :attr:`HostSpec.feature_width`)."""
    return {
        spec.backbone: spec.feature_width
        for spec in HOSTS if spec.feature_width is not None
    }


def output_checks() -> Dict[str, Tuple[str, Tuple[str, ...]]]:
    """Backbone qualname -> (dotted name of its output check, the config
    keys behind it) (see :attr:`HostSpec.output_check`)."""
    return {
        spec.backbone: (spec.output_check, tuple(spec.output_check_keys))
        for spec in HOSTS if spec.output_check is not None
    }


def init_cfg_none_failing() -> Tuple[str, ...]:
    """Qualnames of the backbones whose constructor fails on
    ``init_cfg=None`` (see :attr:`HostSpec.init_cfg_none_fails`)."""
    return tuple(spec.backbone for spec in HOSTS if spec.init_cfg_none_fails)


def input_sized_state_attrs() -> Dict[str, Tuple[str, ...]]:
    """Module qualname -> the attributes its forward replaces for the
    input's size (see :attr:`HostSpec.input_sized_state`)."""
    return {
        module: tuple(attrs)
        for spec in HOSTS for module, attrs in spec.input_sized_state
    }


def resolve(dotted: str) -> Callable:
    """The function a :class:`HostSpec` names by its dotted name
    (``pretrained_reader``, ``feature_width``, ``output_check``), imported
    when it is first used: the functions live in the layers that use them,
    above this table.

    Args:
        dotted (str): ``package.module.function``, e.g.
            ``'mmadaptformer.models.host_widths.stage_width'``.

    Returns:
        Callable: The function.

    Raises:
        ValueError: ``dotted`` names no callable in an importable module;
            the message names it.
    """
    module, _, name = dotted.rpartition('.') if isinstance(
        dotted, str) else ('', '', '')
    if not module or not name:
        raise ValueError(f'A HostSpec names the function {dotted!r}; '
                         'expected a dotted name, package.module.function.')
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError as e:
        raise ValueError(f'A HostSpec names the function {dotted!r}, but '
                         f'its module {module!r} cannot be imported: '
                         f'{e}') from e
    if not callable(found):
        raise ValueError(f'A HostSpec names the function {dotted!r}, but '
                         f'{module!r} has no function {name!r}.')
    return found
