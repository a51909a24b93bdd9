# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Make ``--resume`` continue exactly like an uninterrupted run.

MMEngine resumes the weights, the optimizer, the schedulers, the message hub
and the epoch counter, and :class:`~mmengine.dataset.DefaultSampler` shuffles
with ``seed + epoch``, so the data *order* after a resume is right. The
global random number generators are not part of a checkpoint, though: a
resumed run starts its next epoch with the generators as seeding and model
building left them, whereas an uninterrupted run has advanced them through
every earlier epoch (random augmentations such as ``RandomFlip`` or
``SampleFrames``, which draw from ``numpy.random``, dropout, drop path, the
validation data loader's base seed, ...). The resumed losses then differ from
the first resumed iteration on.

Saving the generators' states in the checkpoint is not enough either: the
checkpoint is written at the end of a training epoch, before validation,
which consumes random numbers in an uninterrupted run but not in a resumed
one. :class:`EpochRandomnessHook` instead reseeds ``random``, ``numpy.random``
and ``torch`` (all devices) at the start of every training epoch from the
run's seed and the epoch index, so every epoch starts from the same state
whether or not the run was interrupted before it. It also records the train
sampler's seed in the checkpoint and restores it on resume, so the data order
matches even when the seed was random (``randomness.seed=None``) or per rank
(``diff_rank_seed=True``).

Scope: epoch-based loops (``EpochBasedTrainLoop``), data loaders with
``num_workers=0`` or non-persistent workers (MMEngine seeds each worker
with ``seed + worker id + rank * workers`` when it starts). Persistent
workers carry their generator state across epochs, which no checkpoint can
restore; the hook warns about them.
"""
import logging
import random
from typing import Optional

import numpy as np
import torch
from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import BaseLoop, Runner
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS

from .registration import add_hook_once

__all__ = [
    'EpochRandomnessHook', 'epoch_seed', 'add_epoch_randomness_hook',
    'SAMPLER_SEED_KEY'
]

#: Where the train sampler's seed is kept in ``checkpoint['meta']``.
SAMPLER_SEED_KEY = 'train_sampler_seed'


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one training epoch.

    The run's seed and the epoch are mixed through
    :class:`numpy.random.SeedSequence`, so that neighbouring seeds and
    epochs (``seed + rank`` with ``diff_rank_seed``) do not share streams.

    Args:
        seed (int): The run's seed (``runner.seed``).
        epoch (int): The number of finished training epochs.

    Returns:
        int: A seed in ``[0, 2**32)``.
    """
    if seed is None or epoch is None:
        raise ValueError(f'epoch_seed needs an int seed and epoch, got '
                         f'seed={seed!r}, epoch={epoch!r}')
    sequence = np.random.SeedSequence([int(seed) % 2**64, int(epoch)])
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    # Seeds the CPU generator and every accelerator's (CUDA, MPS, XPU, ...).
    torch.manual_seed(seed)


def _train_sampler(runner: Runner):
    """The train sampler, or None if the train loop is not built.

    Reads ``runner._train_loop`` rather than ``runner.train_loop``, which
    would build the train data loader in a test or validation run.
    """
    loop = getattr(runner, '_train_loop', None)
    if not isinstance(loop, BaseLoop):
        return None
    dataloader = getattr(loop, 'dataloader', None)
    sampler = getattr(dataloader, 'sampler', None)
    if not hasattr(sampler, 'seed'):
        batch_sampler = getattr(dataloader, 'batch_sampler', None)
        sampler = getattr(batch_sampler, 'sampler', None)
    return sampler if hasattr(sampler, 'seed') else None


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class EpochRandomnessHook(Hook):
    """Reseed the global random generators at every training epoch, so
    that a resumed run trains exactly like an uninterrupted one.

    At the start of training epoch ``e`` it seeds ``random``,
    ``numpy.random`` and ``torch`` with ``epoch_seed(runner.seed, e)``. It
    also saves the train sampler's seed in ``checkpoint['meta']`` and
    restores it when resuming. ``tools/train.py`` adds this hook to every
    run; it is part of the training recipe of
    `AdaptFormer <https://arxiv.org/abs/2205.13535>`_ reproductions that
    must survive pre-emption.

    Examples:
        >>> custom_hooks = [dict(type='EpochRandomnessHook')]
    """

    # Before any other hook draws random numbers in ``before_train_epoch``.
    priority = 'HIGHEST'

    def before_train(self, runner: Runner) -> None:
        """Warn a resumed run whose data loader workers cannot be resumed
        exactly."""
        if not getattr(runner, '_resume', False):
            return
        loop = getattr(runner, '_train_loop', None)
        dataloader = getattr(loop, 'dataloader', None)
        if getattr(dataloader, 'persistent_workers',
                   False) and getattr(dataloader, 'num_workers', 0) > 0:
            print_log(
                'EpochRandomnessHook: train_dataloader.persistent_workers='
                'True keeps each worker\'s random state across epochs, which '
                'a checkpoint cannot hold; a resumed run will draw different '
                'random augmentations. Set persistent_workers=False (or '
                'pass --no-persistent-workers) for exact resumption.',
                logger='current',
                level=logging.WARNING)

    def before_train_epoch(self, runner: Runner) -> None:
        """Seed the global generators for this epoch."""
        _seed_everything(epoch_seed(runner.seed, runner.epoch))

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Record the train sampler's seed."""
        sampler = _train_sampler(runner)
        if sampler is not None and isinstance(sampler.seed, int):
            checkpoint.setdefault('meta', {})[SAMPLER_SEED_KEY] = sampler.seed

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Restore the train sampler's seed when resuming.

        ``load_from`` (fine-tuning from another run's checkpoint) keeps the
        sampler's own seed.
        """
        if not getattr(runner, '_resume', False):
            return
        # A meta that is not a dict is refused by name by ResumeCheckHook.
        meta = checkpoint.get('meta')
        seed: Optional[int] = meta.get(SAMPLER_SEED_KEY) if isinstance(
            meta, dict) else None
        sampler = _train_sampler(runner)
        if seed is None or sampler is None or sampler.seed == seed:
            return
        print_log(
            f'EpochRandomnessHook: the train sampler shuffles with the '
            f'resumed seed {seed} (this run drew {sampler.seed}).',
            logger='current')
        sampler.seed = seed


def add_epoch_randomness_hook(runner: Runner) -> Optional[Hook]:
    """Register an :class:`EpochRandomnessHook` unless the runner has one.

    Args:
        runner (Runner): A built runner.

    Returns:
        Hook, optional: The registered hook, or None if the runner already
        had one (from the config's ``custom_hooks``).
    """
    return add_hook_once(runner, EpochRandomnessHook)
