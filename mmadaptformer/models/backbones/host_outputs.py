# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a built host whose forward would hand the head a feature of
another width than the one its settings say, or break before it does.

mmpretrain 1.2's HiViT sets ``out_indices[-1] = depths[-1] - 1`` (the last
main block) and then matches every index of ``out_indices`` in its stem
loop (``blocks[:-depths[-1]]``: ``2 * depths[i]`` MLP-only blocks and a
``PatchMerge`` per stem stage, ``2 * sum(depths[:-1]) + len(depths) - 1``
modules) and again in its main loop, and at each match it reshapes the
tokens the next block reads into the feature map it returns:

* an index ``i`` with ``0 <= i < stem length`` returns the feature of a
  stem module, of width ``embed_dims / 2**k``: with ``depths=[1, 1, 2]``
  (stem length 6, last index 1) training failed at the first step with
  ``running_mean should contain 8 elements not 32``;
* an index ``i`` of a main block other than the last hands main block
  ``i + 1`` a ``(B, C, H, W)`` map: with ``depths=[1, 1, 10]`` and
  ``out_indices=[7, 23]`` training failed at the first step with
  ``Given normalized_shape=[32], expected input with shape [*, 32]``.

Both came after the work dir was made. The stock archs with one out index
(stem length 6 or 10, last index 9 or more) never reach either.

A host declares its check in its :class:`~mmadaptformer.models.HostSpec`
(``output_check``, a function ``(host, key, written)`` of the built host,
its config key and its config as written, returning the message or None);
:func:`check_host_outputs` runs the one of the built host's class, for a
host inside a wrapper and a plain one alike.
"""
from typing import List, Mapping, Optional

from torch import nn

from ...utils.config_error import ConfigError
from ...utils.config_place import option_place
from ..hosts import host_spec, resolve
from .config_keys import CONFIG_KEY

__all__ = ['check_host_outputs', 'hivit_unusable_outputs', 'HOST_KEY']

#: The config key of the host inside a frozen-host wrapper.
HOST_KEY = f'{CONFIG_KEY}.backbone'


def _listed(indices: List[int]) -> str:
    """``index 2`` or ``indices 2 and 5``."""
    if len(indices) == 1:
        return f'index {indices[0]}'
    return 'indices ' + ', '.join(map(str, indices[:-1])) + \
        f' and {indices[-1]}'


def _shown_out_indices(indices: List[int], written: Optional[Mapping]) -> str:
    """The ``out_indices`` the config ``written`` gives, and what HiViT
    made of them where that differs: ``[7, 23] (HiViT makes it [7, 9])``;
    the built ones alone where the config gives none."""
    given = written.get('out_indices') if written is not None else None
    if isinstance(given, int):
        given = [given]
    if not isinstance(given, (list, tuple)):
        return str(indices)
    if list(given) == indices:
        return str(indices)
    return f'{list(given)} (HiViT makes it {indices})'


def hivit_unusable_outputs(host: nn.Module,
                           key: str,
                           written: Optional[Mapping] = None) -> Optional[str]:
    """Why a built HiViT's forward would return a stem feature or break
    after a main block, or None if it does neither.

    Args:
        host (nn.Module): A built ``mmpretrain`` HiViT, its ``out_indices``
            as its ``__init__`` left them (the last one set to
            ``depths[-1] - 1``; HiViT changes the list it is given, and its
            default list, in place, so that list is read right after the
            build).
        key (str): The host's config key, e.g. ``'model.backbone'``.
        written (Mapping, optional): The host's config, whose
            ``out_indices`` (the list the user wrote, before HiViT changed
            it) the message shows. Defaults to None: the built list only.

    Returns:
        str, optional: The message, led by the config keys to change.
    """
    stem = len(host.blocks) - host.num_main_blocks
    last = host.num_main_blocks - 1
    indices = list(host.out_indices)
    in_stem = sorted({i for i in indices if 0 <= i < stem})
    # Index ``last`` is matched again in the main loop, after the stem.
    in_main = sorted({i for i in indices if 0 <= i < last})
    if not in_stem and not in_main:
        return None
    why = []
    if in_stem:
        why.append(f'{_listed(in_stem)} would return the feature of a stem '
                   f'module, of another width than embed_dims='
                   f'{host.embed_dims}, to the head')
    if in_main:
        why.append(f'{_listed(in_main)} would hand the next main block a '
                   '(B, C, H, W) feature map in place of its tokens')
    fix = []
    if last < stem:
        fix.append(f'give the last stage more than {stem} blocks '
                   f'(depths[-1] >= {stem + 1})')
    others = sorted(set(in_stem + in_main) - {last})
    if others:
        fix.append(f'leave out {_listed(others)}: HiViT hands on the '
                   'feature of its last main block only (out_indices=[-1], '
                   'which it sets to depths[-1] - 1)')
    shown = _shown_out_indices(indices, written)
    return (f'{key}.arch.depths={list(host.depths)} / {key}.out_indices='
            f'{shown}: HiViT sets the last out index to depths[-1] - 1 = '
            f'{last} and matches its out_indices in its {stem} stem modules '
            '(2 per stem block and a PatchMerge per stem stage) as well as '
            f'in its {host.num_main_blocks} main blocks, reshaping the '
            f'tokens at each match; {", and ".join(why)} (training fails at '
            f'its first step). To fix, {" and ".join(fix)}.')


def check_host_outputs(host: nn.Module,
                       source: str,
                       options: Optional[dict] = None,
                       key: str = HOST_KEY,
                       written: Optional[Mapping] = None) -> None:
    """Run the output check declared for ``host``'s class, if any.

    Args:
        host (nn.Module): The built host backbone (inside a wrapper, at
            ``model.backbone.backbone``, or the model's own backbone).
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        key (str): The host's config key. Defaults to :data:`HOST_KEY`,
            the host inside a wrapper.
        written (Mapping, optional): The host's config as the user wrote
            it, which the check's message quotes where the host changed
            the values it was given. Defaults to None.

    Raises:
        ConfigError: The check's refusal, led by the ``--cfg-options``
            entry that set one of its keys, else by ``source``.
    """
    spec = host_spec(type(host))
    if spec is None or spec.output_check is None:
        return
    message = resolve(spec.output_check)(host, key, written)
    if message is None:
        return
    places = (
        option_place(f'{key}.{name}', options)
        for name in spec.output_check_keys)
    where = next((place for place in places if place), source)
    raise ConfigError(f'{where}: {message}')
