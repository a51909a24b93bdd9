# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse to resume from a checkpoint that cannot continue the run exactly
(:mod:`.resume_state_check` says what MMEngine's ``Runner.resume`` would
do with one), before the runner loads it."""
from typing import Optional

from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS

from mmadaptformer.utils.checkpoint_loading import safe_torch_load
from mmadaptformer.utils.local_files import home_expanded, is_local
from .registration import add_hook_once
from .resume_state_check import (check_resume_state, check_training_state,
                                 resumed_source)
from .resumed_batch import TRAIN_BATCH_KEY, recorded_batch, train_batch_record

__all__ = ['ResumeCheckHook', 'add_resume_check_hook']


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class ResumeCheckHook(Hook):
    """Refuse to resume from a checkpoint that cannot continue the run.

    When the runner resumes (``resume=True``), the checkpoint must be one
    that training saved (with the epoch and iteration it reached, not a
    backbone's pretrained weights: checked before the runner loads a
    local ``load_from``, so before any other hook judges its weights), and
    it must hold the optimizer state and, where the config has a
    ``param_scheduler``, the scheduler state, and both must fit the
    run's optimizer and schedulers (see
    :func:`~.resume_state_check.check_resume_state`).
    Otherwise the run stops before any of it is loaded, with an error
    that names the file and says what to do: resume from the run's
    ``epoch_N.pth`` (``iter_N.pth``), or load the weights alone with
    ``load_from`` (a backbone's with ``--pretrained``). A scheduler whose
    settings differ from the checkpoint's (``T_max``, ``end``, ...) and
    optimizer settings that differ (``lr``, ``weight_decay``,
    ``momentum``, ``betas``, ...; base values, before any scheduler) are
    kept as the checkpoint has them, as MMEngine does, with a warning
    naming both values. It records the run's total batch in each
    checkpoint it saves (``meta['train_batch']``: processes, batch of one,
    iterations an epoch, ``auto_scale_lr`` factor), which MMEngine does not,
    and a resume with another one is told in a warning that says which lr
    trains and how to go on with the checkpoint's batch
    (:func:`~.resumed_batch.batch_change_warning`). The
    `AdaptFormer <https://arxiv.org/abs/2205.13535>`_ recipes list it in
    ``default_hooks`` (``configs/_base_/default_hooks.py``), so
    ``Runner.from_cfg`` runs it; ``tools/train.py`` adds it to a config
    without one. A runner with two runs the first alone.

    Examples:
        >>> default_hooks = dict(resume_check=dict(type='ResumeCheckHook'))
    """

    # After AdapterHook and CheckpointCheckHook, whose errors about the
    # weights say more than one about the optimizer.
    priority = 'VERY_LOW'

    def __init__(self) -> None:
        super().__init__()
        # The batch record of the checkpoint a run resumed from: its lr,
        # restored with the optimizer state, keeps that run's
        # auto_scale_lr factor.
        self._resumed_batch = None

    def _checks(self, runner) -> bool:
        """Whether this hook checks the runner's resume: it resumes, and
        this is its first ResumeCheckHook (one may be listed in both
        ``default_hooks`` and ``custom_hooks``)."""
        first = next(
            (h for h in runner.hooks if isinstance(h, ResumeCheckHook)), self)
        return bool(runner.cfg.get('resume')) and first is self

    def before_run(self, runner) -> None:
        """Refuse a local file given to resume from (``load_from``) that
        training did not write, before the runner loads it: otherwise a
        hook that checks its weights first (``CheckpointCheckHook``) would
        call a backbone's pretrained weights another architecture. The
        work dir's latest checkpoint (no ``load_from``) is training's."""
        load_from = runner.cfg.get('load_from')
        if not self._checks(runner) or not load_from or \
                not is_local(load_from):
            return
        # As MMEngine's CheckpointLoader reads it: `~` expanded.
        checkpoint = safe_torch_load(
            home_expanded(str(load_from)), map_location='cpu', mmap=True)
        check_training_state(runner, checkpoint, str(load_from))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Record the run's total batch, for a resume to compare."""
        checkpoint.setdefault('meta', {})[TRAIN_BATCH_KEY] = \
            train_batch_record(runner, self._resumed_batch)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Check a checkpoint the runner resumes from."""
        if runner.cfg.get('resume'):
            self._resumed_batch = recorded_batch(checkpoint)
        if self._checks(runner):
            check_resume_state(runner, checkpoint, resumed_source(runner))


def add_resume_check_hook(runner: Runner) -> Optional[Hook]:
    """Register a :class:`ResumeCheckHook` unless the runner has one.

    Args:
        runner (Runner): A built runner.

    Returns:
        Hook, optional: The registered hook, or None if the runner already
        had one (from the config's ``default_hooks``, as the recipes give
        it, or ``custom_hooks``).
    """
    return add_hook_once(runner, ResumeCheckHook)
