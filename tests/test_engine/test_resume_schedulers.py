# Copyright (c) mmadaptformer contributors. All rights reserved.
""":func:`~mmadaptformer.engine.check_resume_state` on the scheduler states
of real MMEngine schedulers, built by a real Runner: what is refused
before MMEngine pairs them in order (the slow tool test
``test_resume_refusals`` runs it through ``tools/train.py``), and the
warning that a changed schedule is not applied."""
import logging

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from mmadaptformer.engine import ResumeStateError, check_resume_state

LINEAR = dict(type='LinearLR', start_factor=0.1, end=1, by_epoch=True)
COSINE = dict(type='CosineAnnealingLR', T_max=2, eta_min=0., by_epoch=True)


class _Linear(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.fc(inputs)


def _runner(tmp_path, schedulers):
    """A Runner of a linear model whose optimizer and ``schedulers`` are
    built, as when ``Runner.train`` resumes; and its warnings."""
    runner = Runner(
        model=_Linear(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=[torch.zeros(4)] * 2,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=1,
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        param_scheduler=[dict(s) for s in schedulers],
        default_hooks=dict(checkpoint=None, logger=None),
        default_scope='mmengine')
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.param_schedulers = runner.build_param_scheduler(
        runner.param_schedulers)
    warnings = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    runner.logger.addHandler(handler)
    return runner, warnings


def _checkpoint(tmp_path, schedulers):
    runner, _ = _runner(tmp_path, schedulers)
    return dict(
        meta=dict(epoch=1, iter=2),
        state_dict=runner.model.state_dict(),
        optimizer=runner.optim_wrapper.state_dict(),
        param_schedulers=[s.state_dict() for s in runner.param_schedulers])


def test_the_same_schedule_resumes_without_a_warning(tmp_path, clean_loggers):
    """Guard of kept behaviour: the checkpoint of the same schedulers."""
    saved = _checkpoint(tmp_path / 'saved', [LINEAR, COSINE])
    runner, warnings = _runner(tmp_path / 'run', [LINEAR, COSINE])
    check_resume_state(runner, saved, 'epoch_1.pth')
    assert warnings == []


@pytest.mark.parametrize(
    'saved_list, run_list', [
        ([COSINE], [LINEAR, COSINE]),
        ([LINEAR, COSINE], [COSINE]),
    ],
    ids=['fewer', 'more'])
def test_another_number_of_scheduler_states_is_refused(tmp_path, saved_list,
                                                       run_list,
                                                       clean_loggers):
    """Guards a count check that refuses only fewer states than schedulers
    (or none): MMEngine pairs them in order, so with more it loads the
    warm-up's state onto the cosine."""
    saved = _checkpoint(tmp_path / 'saved', saved_list)
    runner, _ = _runner(tmp_path / 'run', run_list)
    types = ', '.join(s['type'] for s in run_list)
    with pytest.raises(ResumeStateError) as info:
        check_resume_state(runner, saved, 'epoch_1.pth')
    assert str(info.value).startswith(
        f'epoch_1.pth cannot be resumed: it holds {len(saved_list)} param '
        'scheduler states for param_scheduler, but the config builds '
        f'{len(run_list)} ({types})'), str(info.value)


def test_states_in_another_order_are_refused_by_index(tmp_path, clean_loggers):
    """Guards a check of the count alone: the states of a cosine and a
    warm-up, in that order, for a warm-up and a cosine."""
    saved = _checkpoint(tmp_path / 'saved', [COSINE, LINEAR])
    runner, _ = _runner(tmp_path / 'run', [LINEAR, COSINE])
    with pytest.raises(ResumeStateError) as info:
        check_resume_state(runner, saved, 'epoch_1.pth')
    assert str(info.value).startswith(
        'epoch_1.pth cannot be resumed: its state of param_scheduler[0] is '
        'not that of a LinearLR, the scheduler the config builds there'), \
        str(info.value)


def test_a_longer_schedule_warns_that_the_checkpoint_schedule_is_kept(
        tmp_path, clean_loggers):
    """Guards the warning that names a changed scheduler setting with both
    values (checkpoint vs config): MMEngine keeps the checkpoint's."""
    saved = _checkpoint(tmp_path / 'saved', [LINEAR, COSINE])
    runner, warnings = _runner(tmp_path / 'run',
                               [LINEAR, dict(COSINE, T_max=3)])
    check_resume_state(runner, saved, 'epoch_1.pth')
    (warning, ) = warnings
    assert warning.startswith(
        "Resuming from epoch_1.pth: the config's param_scheduler differs "
        "from the checkpoint's (CosineAnnealingLR (param_scheduler[1]): "
        'T_max 2 vs 3; checkpoint vs config), and the checkpoint\'s '
        'schedule is kept'), warning
