# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What the package knows about each supported host backbone, in one place.

Every feature that depends on a host's internals reads its declaration:
one host's by :func:`host_spec` (the backbone's type) or :func:`block_spec`
(its block's), e.g. its own weights and the head-width check (the width of
its features); the types inside any host from :data:`HOSTS`, e.g. adapter
injection (block wiring), VPT (where prompts can go), the fused attention
and the contiguous token sequence. Supporting a new host means adding one
:class:`HostSpec` to :mod:`~mmadaptformer.models.hosts_mmaction` or
:mod:`~mmadaptformer.models.hosts_mmpretrain`, not editing one table per
feature.

Types are matched by their exact ``module.qualname`` (see :func:`qualname`):
subclasses, e.g. BEiT's layer, may change ``forward`` and are not matched.
"""
import importlib
from collections import OrderedDict
from typing import Callable, Dict, Optional, Tuple, Union

from .host_spec import HostSpec, block_like_types, qualname
from .hosts_mmaction import MMACTION_HOSTS
from .hosts_mmpretrain import MMPRETRAIN_HOSTS

__all__ = [
    'HostSpec', 'HOSTS', 'qualname', 'block_like_types', 'host_spec',
    'block_spec', 'supported_backbones', 'resolve'
]

#: The supported hosts.
HOSTS: Tuple[HostSpec, ...] = MMACTION_HOSTS + MMPRETRAIN_HOSTS


def _first_by(attr: str) -> Dict[str, HostSpec]:
    """The first declaration of each value of ``attr``, in table order."""
    found: Dict[str, HostSpec] = {}
    for spec in HOSTS:
        found.setdefault(getattr(spec, attr), spec)
    return found


# A backbone with several block types (Twins' SVT, DaViT) is declared once
# per block type; those declarations agree on what concerns the backbone,
# and blocks shared by several backbones agree on what concerns the block.
_BY_BACKBONE = _first_by('backbone')
_BY_BLOCK = _first_by('block')


def _name(cls: Union[str, type]) -> str:
    return cls if isinstance(cls, str) else qualname(cls)


def host_spec(backbone: Union[str, type]) -> Optional[HostSpec]:
    """The declaration of a host backbone: what every feature reads about
    it (its own weights, the width of its features, its output check, ...).

    Args:
        backbone (str | type): The backbone class, or its ``module.qualname``
            (see :func:`qualname`); subclasses are not matched.

    Returns:
        HostSpec, optional: Its (first) declaration; None for a type that
        is not a supported host.
    """
    return _BY_BACKBONE.get(_name(backbone))


def block_spec(block: Union[str, type]) -> Optional[HostSpec]:
    """The declaration of a host whose transformer block ``block`` is, for
    what concerns the block itself (its wiring, whether it is batch-first,
    how many inputs hold the samples).

    Args:
        block (str | type): The block class, or its ``module.qualname``;
            subclasses are not matched.

    Returns:
        HostSpec, optional: The first declaration of that block; None for
        a type that is no host's block.
    """
    return _BY_BLOCK.get(_name(block))


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
