# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The lr each parameter gets relative to the optimizer's base lr, as
MMEngine gives it: the ``paramwise_cfg.custom_keys`` entry its
``DefaultOptimWrapperConstructor`` applies to a parameter
(:func:`custom_key_for`), the factor ``Runner.scale_lr`` applies under
``auto_scale_lr`` (:func:`auto_scale_ratio`) and each parameter's
multiplier in a built optimizer (:func:`group_lr_multipliers`).
:func:`~.optim_check.check_trainable_lr` reads them."""
from typing import Dict, Optional

__all__ = [
    'custom_key_for', 'group_lr_multipliers', 'auto_scale_ratio',
    'train_batch_size'
]


def custom_key_for(name: str, custom_keys: dict) -> Optional[str]:
    """The ``custom_keys`` entry MMEngine's DefaultOptimWrapperConstructor
    applies to the parameter ``name`` (as in ``model.named_parameters()``).

    The constructor tries the keys longest first, equal lengths in
    alphabetical order, and the first key that is a substring of the name
    wins (e.g. ``'adaptmlp'`` beats ``'backbone'``, both 8 characters, but
    not ``'backbone.blocks'``). It matches ``'.' + name`` for a parameter of
    the model itself.
    """
    target = name if '.' in name else f'.{name}'
    for key in sorted(sorted(custom_keys), key=len, reverse=True):
        if key in target:
            return key
    return None


def train_batch_size(runner) -> Optional[int]:
    """The train batch size of one process as ``Runner.scale_lr`` reads
    it: ``batch_size`` of the ``train_dataloader`` dict the Runner was
    built from (its config's), or of the DataLoader it was given; None
    where neither holds one.

    Args:
        runner (Runner): A runner.

    Returns:
        int, optional: The batch size, or None.
    """
    loader = runner.cfg.get('train_dataloader')
    if isinstance(loader, dict) and 'batch_size' in loader:
        return loader['batch_size']
    # A Runner given a DataLoader: its loop holds it. None for a loop
    # that holds none.
    built = getattr(runner, 'train_dataloader', None)
    # A batch sampler keeps the batch size; the DataLoader's is then None.
    size = getattr(built, 'batch_size', None)
    if size is None:
        size = getattr(
            getattr(built, 'batch_sampler', None), 'batch_size', None)
    return size if isinstance(size, int) else None


def _train_batch_size(runner) -> int:
    """:func:`train_batch_size`, which ``auto_scale_lr`` needs."""
    size = train_batch_size(runner)
    if size is None:
        built = getattr(runner, 'train_dataloader', None)
        raise ValueError(
            'auto_scale_lr is enabled, but the train batch size that '
            'Runner.scale_lr scaled the lr by cannot be read: the config '
            'has no train_dataloader.batch_size and the train DataLoader '
            f'({type(built).__name__}) has none, nor its batch sampler')
    return size


def auto_scale_ratio(runner) -> float:
    """The factor ``Runner.scale_lr`` applied to every group's lr: the
    world size times the train batch size over
    ``auto_scale_lr.base_batch_size``; 1 where ``auto_scale_lr`` is not
    enabled.

    The batch size is the ``train_dataloader`` config's ``batch_size``, as
    MMEngine reads it, not the built DataLoader's, which is None under a
    ``batch_sampler``.

    Raises:
        ValueError: If ``auto_scale_lr`` is enabled and has no
            ``base_batch_size``, or the train batch size cannot be read.
    """
    cfg = getattr(runner, 'auto_scale_lr', None)
    if not cfg or not cfg.get('enable', False):
        return 1.
    if 'base_batch_size' not in cfg:
        raise ValueError('auto_scale_lr is enabled but has no '
                         f'base_batch_size: auto_scale_lr={dict(cfg)!r}')
    return float(runner.world_size * _train_batch_size(runner)) / float(
        cfg['base_batch_size'])


def group_lr_multipliers(optimizer, ratio: float = 1.) -> Dict[int, float]:
    """Each parameter's lr relative to the optimizer's base lr, keyed by
    ``id(parameter)``.

    A group's lr is taken before any scheduler step (``initial_lr``, which
    MMEngine's schedulers record) and the base lr is the optimizer's default
    (the config's ``optimizer.lr``) times ``ratio``, the auto-scale factor.
    Empty if the optimizer has no numeric base lr.
    """
    base = optimizer.defaults.get('lr')
    try:
        base = float(base) * ratio
    except (TypeError, ValueError):
        return {}
    if base <= 0:
        return {}
    return {
        id(p): float(group.get('initial_lr', group['lr'])) / base
        for group in optimizer.param_groups for p in group['params']
    }
