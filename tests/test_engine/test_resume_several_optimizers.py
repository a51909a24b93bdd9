# Copyright (c) mmadaptformer contributors. All rights reserved.
""":func:`~mmadaptformer.engine.check_resume_state` on a real MMEngine
Runner with several optimizers (an ``OptimWrapperDict``, one wrapper per
submodule): the checkpoint's state of each is matched with the wrapper of
its name."""
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from several_optim_wrappers import SeveralOptimWrapperConstructor
from torch import nn

from mmadaptformer.engine import ResumeStateError, check_resume_state

SGD = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))


class _TwoParts(BaseModel):
    """Two linear parts, ``a`` and ``b``, each with its own optimizer."""

    def __init__(self, b_out: int = 2) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 3), nn.Linear(3, b_out)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.b(self.a(inputs))


def _runner(tmp_path, model):
    runner = Runner(
        model=model,
        work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(
            dataset=[torch.zeros(4)] * 2,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=1,
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(
            constructor=SeveralOptimWrapperConstructor, a=SGD, b=SGD),
        default_hooks=dict(checkpoint=None, logger=None),
        default_scope='mmengine')
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    return runner


def _checkpoint(runner):
    """What one training step of ``runner`` and a save would hold."""
    model, wrappers = runner.model, runner.optim_wrapper
    loss = model(torch.randn(2, 4)).square().sum()
    loss.backward()
    for name in ('a', 'b'):
        wrappers[name].step()
    return dict(
        meta=dict(epoch=1, iter=2),
        state_dict=model.state_dict(),
        optimizer=wrappers.state_dict())


def test_each_optimizers_state_is_checked_against_its_own_wrapper(
        tmp_path, clean_loggers):
    """Guards a check that hands the whole dict of states (``{'a': ...,
    'b': ...}``) to the per-optimizer comparison, which refused every
    checkpoint of several optimizers as no optimizer state; and one that
    checks only the first optimizer."""
    torch.manual_seed(0)
    saved = _checkpoint(_runner(tmp_path / 'saved', _TwoParts()))
    assert set(saved['optimizer']) == {'a', 'b'}
    # The same model and config resume.
    check_resume_state(
        _runner(tmp_path / 'same', _TwoParts()), saved, 'epoch_1.pth')

    # b's output size changed: its momentum no longer fits, a's still does.
    with pytest.raises(ResumeStateError) as info:
        check_resume_state(
            _runner(tmp_path / 'other', _TwoParts(b_out=5)), saved,
            'epoch_1.pth')
    assert str(info.value).startswith(
        'epoch_1.pth cannot be resumed: its optimizer state does not fit '
        "this run's optimizer 'b': the momentum_buffer of tensor 0 (param "
        'group 0) has shape (2, 3) in the checkpoint, but its parameter '
        'here has (5, 3).'), str(info.value)

    # A checkpoint without b's state names b.
    del saved['optimizer']['b']
    with pytest.raises(
            ResumeStateError, match="no state of the optimizer 'b'"):
        check_resume_state(
            _runner(tmp_path / 'lacking', _TwoParts()), saved, 'epoch_1.pth')


def test_a_checkpoint_without_the_optimizers_state_is_refused(
        tmp_path, clean_loggers):
    """Guard of kept behaviour: with several optimizers too, a
    weights-only checkpoint is refused, not resumed with fresh ones."""
    torch.manual_seed(0)
    saved = _checkpoint(_runner(tmp_path / 'saved', _TwoParts()))
    del saved['optimizer']
    with pytest.raises(ResumeStateError) as info:
        check_resume_state(
            _runner(tmp_path / 'run', _TwoParts()), saved, 'epoch_1.pth')
    assert str(info.value).startswith(
        'epoch_1.pth cannot be resumed: it holds no optimizer state '
        "('optimizer') (only meta, state_dict)"), str(info.value)
