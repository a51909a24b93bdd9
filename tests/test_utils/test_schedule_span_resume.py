# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The config check's warning of a schedule that ends before training
(:func:`~mmadaptformer.utils.schedule_span.warn_if_schedule_ends_early`),
for a run that resumes: its advice (a larger ``end``/``T_max``) does not
apply then, as MMEngine restores the checkpoint's schedule whole
(``tests/test_tools/test_train_resume_longer.py`` reads the learning
rates of such a resumed run). Before, it gave that advice alone."""
import logging

from mmengine.config import Config

from mmadaptformer.utils.scheduler_check import check_param_scheduler


def test_the_config_check_says_a_resumed_run_keeps_the_ended_schedule(
        log_records):
    """A cosine with its own end (2) under a longer run: with
    ``resume=True`` the config check's warning says that a changed
    end/T_max does not apply and what does; without, it is as before."""
    for resume in (False, True):
        check_param_scheduler(
            Config(
                dict(
                    default_scope='mmpretrain',
                    resume=resume,
                    train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=4),
                    param_scheduler=[
                        dict(
                            type='CosineAnnealingLR',
                            T_max=2,
                            end=2,
                            by_epoch=True)
                    ])), 'cfg.py', {'train_cfg.max_epochs': 4})
    fresh, resumed = [
        r.getMessage() for r in log_records if r.levelno >= logging.WARNING
    ]
    assert resumed == fresh + (
        ' If the run resumes from a checkpoint, a changed end or T_max does '
        "not apply (MMEngine restores the checkpoint's schedule whole): once "
        "the checkpoint's schedule has ended, the rest of the run trains at "
        'the last value it set. To decay over the added epochs instead, '
        'start a new run from its weights in a work dir of its own, so that '
        'its checkpoints do not replace the one it loads (--work-dir NEW_DIR '
        '--cfg-options load_from=FILE, without --resume) with '
        'train_cfg.max_epochs set to the epochs to add and '
        'optim_wrapper.optimizer.lr to the learning rate it stopped at.')
    assert 'set param_scheduler[0].end to 4' in fresh
