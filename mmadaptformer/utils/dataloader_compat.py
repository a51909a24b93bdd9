# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMEngine's dataloaders take a ``collate_fn`` inherited across packages.

A config that inherits another package's config (``_base_ =
['mmaction::...']`` or ``['mmpretrain::...']``) gets ``_scope_`` added by
MMEngine to every dict with a ``type``, ``collate_fn`` included. MMEngine
0.10.7's ``Runner.build_dataloader`` (and ``FlexibleRunner``'s) pops only
``type`` and binds the rest as keyword arguments, so the first batch fails
with ``repeat_pseudo_collate() got an unexpected keyword argument
'_scope_'`` (mmaction2's MViT recipes) or the same for ``default_collate``
(16 mmpretrain configs, e.g. MixMIM, BEiT, MAE). :func:`patch_scoped_collate`
resolves such a ``type`` in the scope it names, as MMEngine's
``build_from_cfg`` does for ``_scope_``, and drops the key.
"""
import functools
from typing import Callable

__all__ = ['patch_scoped_collate', 'resolve_scoped_collate']


def resolve_scoped_collate(dataloader):
    """The dataloader config with a scoped ``collate_fn`` resolved.

    Args:
        dataloader (dict | DataLoader): What ``build_dataloader`` takes.

    Returns:
        dict | DataLoader: ``dataloader`` itself unless its ``collate_fn``
        is a dict with ``_scope_`` and a string ``type``; then a shallow
        copy whose ``collate_fn`` has the registered function as ``type``
        and no ``_scope_`` (the config is not changed).

    Raises:
        KeyError: If the scope's ``FUNCTIONS`` registry lacks the type.
    """
    if not isinstance(dataloader, dict):
        return dataloader
    collate = dataloader.get('collate_fn')
    if not (isinstance(collate, dict) and '_scope_' in collate
            and isinstance(collate.get('type'), str)):
        return dataloader
    from mmengine.registry import FUNCTIONS, DefaultScope
    collate = dict(collate)
    scope = collate.pop('_scope_')
    with DefaultScope.overwrite_default_scope(scope):
        function = FUNCTIONS.get(collate['type'])
    if function is None:
        raise KeyError(
            f'collate_fn type {collate["type"]!r} (scope {scope!r}) is not '
            f'a function registered in {scope!r}\'s FUNCTIONS registry or '
            f'its parents; expected e.g. \'pseudo_collate\' or '
            f'\'default_collate\'.')
    collate['type'] = function
    return {**dataloader, 'collate_fn': collate}


def _wrap(build: Callable) -> Callable:

    @functools.wraps(build)
    def build_dataloader(dataloader, *args, **kwargs):
        return build(resolve_scoped_collate(dataloader), *args, **kwargs)

    return build_dataloader


def patch_scoped_collate() -> None:
    """Wrap ``Runner.build_dataloader`` and ``FlexibleRunner``'s with
    :func:`resolve_scoped_collate`. Called once, by
    :func:`~mmadaptformer.utils.apply_upstream_fixes`."""
    from mmengine.runner import FlexibleRunner, Runner
    for runner in (Runner, FlexibleRunner):
        build = runner.__dict__['build_dataloader'].__func__
        runner.build_dataloader = staticmethod(_wrap(build))
