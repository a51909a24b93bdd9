# Copyright (c) mmadaptformer contributors. All rights reserved.
"""How to give a host the weights it reads itself (its own ``pretrained``)
rather than as its ``init_cfg``: the advice the refusals of such a file
end with, in the host table's words
(:attr:`~mmadaptformer.models.HostSpec.own_pretrained_advice`) and the
one text of
:func:`~mmadaptformer.utils.pretrained_backbone.own_pretrained_hint`."""
from typing import Mapping, Optional, Sequence

from torch import nn

from ...utils.pretrained_backbone import own_pretrained_hint
from ..hosts import HOSTS, host_spec, qualname
from .host_init import OWN_WEIGHTS_ATTR, takes_own_pretrained_only

__all__ = [
    'own_loading_hint', 'own_loading_hint_of_cfg', 'own_loading_alternative'
]


def _own_loading_hint(backbones: Sequence[str],
                      name: str,
                      key: str,
                      checkpoint: Optional[str] = None) -> str:
    """The advice of :func:`own_loading_hint` for the host qualnames
    ``backbones``: said if they all read their own ``pretrained`` and give
    the same advice (:attr:`~mmadaptformer.models.HostSpec.
    own_pretrained_advice`)."""
    specs = [host_spec(backbone) for backbone in backbones]
    if not specs or None in specs:
        return ''
    advice = {spec.own_pretrained_advice for spec in specs}
    if len(advice) != 1 or None in advice or not all(
            OWN_WEIGHTS_ATTR in dict(spec.own_pretrained) for spec in specs):
        return ''
    return own_pretrained_hint(name, key, advice.pop(), checkpoint=checkpoint)


def own_loading_hint(host: nn.Module, key: str) -> str:
    """How to give ``host`` a checkpoint it reads itself (its own
    ``pretrained``), in the words of
    :func:`~mmadaptformer.utils.pretrained_backbone.own_pretrained_hint`;
    empty for other hosts, MViT included: it reads a MaskFeat file
    through its ``init_cfg`` (``pretrained_type='maskfeat'``), and its
    ``pretrained`` only becomes that ``init_cfg``; and for a host whose
    files in that layout the wrapper hands to its own ``pretrained``
    itself (:attr:`~mmadaptformer.models.HostSpec.own_layout`:
    TimeSformer's 2D ViT), which ``--pretrained`` then loads.

    Args:
        host (nn.Module): The host.
        key (str): The config key of the host, e.g.
            ``'model.backbone.backbone'``.
    """
    spec = host_spec(type(host))
    if spec is not None and spec.own_layout is not None:
        return ''
    return _own_loading_hint([qualname(type(host))], type(host).__name__, key)


def own_loading_hint_of_cfg(host_cfg: Mapping,
                            key: str,
                            checkpoint: Optional[str] = None,
                            nested_under: Optional[str] = None) -> str:
    """:func:`own_loading_hint` for a host's config, before anything is
    built: what ``--pretrained`` adds to its refusal of a file that holds
    no state dict (see
    :func:`~mmadaptformer.utils.pretrained_backbone.set_pretrained_backbone`,
    which cannot read the host table itself).

    A ``type`` given as a name (``'SwinTransformer3D'``,
    ``'mmaction.SwinTransformer3D'``) is matched by class name against the
    hosts of :data:`~mmadaptformer.models.hosts.HOSTS`; a name that several
    hosts share gets the advice only if it fits all of them.

    Args:
        host_cfg (Mapping): The host's config, with its ``type``.
        key (str): The config key of the host, e.g.
            ``'model.backbone.backbone'``.
        checkpoint (str, optional): The file the advice names; None says
            ``FILE``. Defaults to None.
        nested_under (str, optional): The key the file nests its weights
            under: the advice to give it as the host's ``pretrained`` is
            said only to a host whose own loading reads them there
            (:attr:`~mmadaptformer.models.HostSpec.own_pretrained_key`:
            Swin3D reads ``'model'``, TimeSformer none), or that reads a
            name, not a file (UniFormer). Defaults to None: any host.

    Returns:
        str: The advice, or ``''`` for a host that does not read its own
        ``pretrained`` (MViT, VideoMAE's ViT), cannot read the file that
        way, or is not in the table.
    """
    host_type = host_cfg.get('type')
    if isinstance(host_type, type):
        name = host_type.__name__
        backbones = [qualname(host_type)]
    elif isinstance(host_type, str):
        name = host_type.rsplit('.', 1)[-1]
        backbones = [
            spec.backbone for spec in HOSTS
            if spec.backbone.rsplit('.', 1)[-1] == name
        ]
    else:
        return ''
    if nested_under is not None and not all(
            spec is not None and (spec.pretrained_names is not None
                                  or spec.own_pretrained_key == nested_under)
            for spec in map(host_spec, backbones)):
        return ''
    return _own_loading_hint(backbones, name, key, checkpoint)


def own_loading_alternative(host: nn.Module, key: str) -> str:
    """The other way to weights for ``host`` than a file of its own keys
    (``--pretrained``, its ``init_cfg``): what it reads itself through its
    own ``pretrained``, in the host table's words
    (:attr:`~mmadaptformer.models.HostSpec.own_pretrained_advice`), as an
    alternative labelled as such; e.g. UniFormer's 2D ImageNet weights,
    which it reads by name, not from a file. What the refusal of a backbone
    that was never loaded ends with.

    Args:
        host (nn.Module): The host.
        key (str): Its config key, e.g. ``'model.backbone.backbone'``.

    Returns:
        str: One sentence, or ``''`` for a host that reads nothing itself,
        or whose own ``pretrained`` is where its file goes anyway
        (TimeSformer, which takes no ``init_cfg``).
    """
    spec = host_spec(type(host))
    advice = spec.own_pretrained_advice if spec is not None else None
    if advice is None or takes_own_pretrained_only(host):
        return ''
    how = advice.format(key=key, file='FILE')
    return (f'Alternatively, instead of a file of its own keys, '
            f'{type(host).__name__} can load {how}.')
