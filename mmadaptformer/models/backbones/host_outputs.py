# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a built host whose forward would hand the head a feature of
another width than the one its settings say.

mmpretrain 1.2's HiViT sets ``out_indices[-1] = depths[-1] - 1`` (the last
main block) and then matches every index of ``out_indices`` in its stem
loop too (``blocks[:-depths[-1]]``: ``2 * depths[i]`` MLP-only blocks and a
``PatchMerge`` per stem stage, ``2 * sum(depths[:-1]) + len(depths) - 1``
modules), before it matches them in its main loop. An index ``i`` with
``0 <= i < stem length`` thus returns the feature of a stem block, of width
``embed_dims / 2**k``, and reshapes the tokens the next blocks read: with
``depths=[1, 1, 2]`` (stem length 6, last index 1) training fails at the
first step with ``running_mean should contain 8 elements not 32``, after
the work dir is made. The stock archs (stem length 6 or 10, last index 9
or more) never reach it.

A host declares its check in its :class:`~mmadaptformer.models.HostSpec`
(``output_check``); :func:`check_host_outputs` runs the one of the built
host's class.
"""
import importlib
from typing import Optional

from torch import nn

from ...utils.config_error import ConfigError
from ...utils.config_place import option_place
from ..hosts import output_checks, qualname
from .config_keys import CONFIG_KEY

__all__ = ['check_host_outputs', 'hivit_stem_outputs']


def hivit_stem_outputs(host: nn.Module) -> Optional[str]:
    """Why a built HiViT returns a stem feature, or None if it does not.

    Args:
        host (nn.Module): A built ``mmpretrain`` HiViT, its ``out_indices``
            as its ``__init__`` left them (the last one set to
            ``depths[-1] - 1``).

    Returns:
        str, optional: The message, led by the config keys to change.
    """
    stem = len(host.blocks) - host.num_main_blocks
    hit = [i for i in host.out_indices if 0 <= i < stem]
    if not hit:
        return None
    key = f'{CONFIG_KEY}.backbone'
    return (f'{key}.arch.depths={list(host.depths)} / {key}.out_indices='
            f'{list(host.out_indices)}: HiViT matches its out_indices in '
            f'its {stem} stem modules (2 per stem block and a PatchMerge '
            f'per stem stage) as well as in its {host.num_main_blocks} main '
            f'blocks, and sets the last index to depths[-1] - 1 = '
            f'{host.depths[-1] - 1}; index {hit[0]} would return the '
            'feature of a stem module, of another width than embed_dims='
            f'{host.embed_dims}, to the head, and reshape the tokens the '
            'next blocks read (training fails at its first step). Give the '
            f'last stage more than {stem} blocks (depths[-1] >= {stem + 1}) '
            f'and no other out index below {stem}.')


def check_host_outputs(host: nn.Module,
                       source: str,
                       options: Optional[dict] = None) -> None:
    """Run the output check declared for ``host``'s class, if any.

    Args:
        host (nn.Module): The built host backbone (inside the wrapper, at
            ``model.backbone.backbone``).
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: The check's refusal, led by the ``--cfg-options``
            entry that set one of its keys, else by ``source``.
    """
    declared = output_checks().get(qualname(type(host)))
    if declared is None:
        return
    check, keys = declared
    module, name = check.rsplit('.', 1)
    message = getattr(importlib.import_module(module), name)(host)
    if message is None:
        return
    places = (
        option_place(f'{CONFIG_KEY}.backbone.{key}', options) for key in keys)
    where = next((place for place in places if place), source)
    raise ConfigError(f'{where}: {message}')
