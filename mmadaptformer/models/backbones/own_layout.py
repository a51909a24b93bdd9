# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``Pretrained`` file that a wrapped host converts itself.

mmaction2's TimeSformer reads the 2D ViT it starts from (mmcv's transformer
layout, as mmaction2 publishes it) through its own ``pretrained``: its
``init_weights()`` renames the layers' ``norms.0`` / ``norms.1`` into the
divided attentions' and the FFN's norms and copies the spatial attention
into the temporal one. Given as a wrapper's ``init_cfg`` (what
``--pretrained`` sets), the same file fits none of the host's keys as they
are, and was refused. :func:`own_layout_file` recognises such a file
(:attr:`~mmadaptformer.models.HostSpec.own_layout`), and the wrapper gives
it to the host as its own ``pretrained`` (:func:`give_as_own_pretrained`),
so that the host's own code converts it: the result is the one
``pretrained=FILE`` gives.
"""
from typing import List, Mapping, Optional

from mmengine.logging import print_log
from torch import nn

from ...utils.local_files import home_expanded
from ...utils.pretrained_init import read_init_checkpoint
from ..hosts import host_spec, resolve
from .host_init import OWN_WEIGHTS_ATTR, non_pretrained_entries

__all__ = ['timesformer_2d_vit', 'own_layout_file', 'give_as_own_pretrained']

#: The mmcv layer norms that TimeSformer's own loading renames.
_NORMS = '.norms.'


def timesformer_2d_vit(host: nn.Module, state_dict: Mapping) -> bool:
    """Whether ``state_dict`` is a 2D ViT in mmcv's transformer layout that
    the divided space-time TimeSformer ``host`` converts in its own
    ``init_weights()``: its layers hold ``norms.*`` tensors, which the
    host's own layout lacks (its norms sit in the attentions and the FFN).

    Args:
        host (nn.Module): mmaction2's TimeSformer.
        state_dict (Mapping): The file's state dict, without a prefix.
    """
    if getattr(host, 'attention_type', None) != 'divided_space_time':
        return False
    return any(_NORMS in key for key in state_dict) and \
        not any(_NORMS in key for key in host.state_dict())


def own_layout_file(host: nn.Module, pretrained: List[dict]) -> Optional[str]:
    """The file of the host's ``Pretrained`` entry if the host's own
    loading converts it (:attr:`~mmadaptformer.models.HostSpec.
    own_layout`), else None.

    Only a single entry without a ``prefix`` is read: the host's own
    loading reads a file bare or under ``'state_dict'``, with no prefix to
    strip.

    Args:
        host (nn.Module): The wrapper's host.
        pretrained (list[dict]): Its ``Pretrained`` entries.
    """
    spec = host_spec(type(host))
    check = spec.own_layout if spec is not None else None
    if check is None or len(pretrained) != 1 or pretrained[0].get('prefix'):
        return None
    cfg = pretrained[0]
    state_dict = read_init_checkpoint(
        cfg['checkpoint'], map_location=cfg.get('map_location', 'cpu'))
    if not isinstance(state_dict, Mapping) or not resolve(check)(host,
                                                                 state_dict):
        return None
    return home_expanded(cfg['checkpoint'])


def give_as_own_pretrained(host: nn.Module, path: str, key: str) -> None:
    """Make ``path`` the host's own ``pretrained`` in place of its
    ``Pretrained`` entries, which leave its ``init_cfg``.

    Args:
        host (nn.Module): The wrapper's host.
        path (str): The file (:func:`own_layout_file`).
        key (str): The config key the file was given as, for the log.
    """
    host.init_cfg = non_pretrained_entries(host.__dict__.get('init_cfg')) or \
        None
    setattr(host, OWN_WEIGHTS_ATTR, path)
    print_log(
        f'{path} ({key}) is in the layout that {type(host).__name__} '
        f'converts itself: loading it as its own {OWN_WEIGHTS_ATTR}, '
        'which converts it as pretrained=FILE does.',
        logger='current')
