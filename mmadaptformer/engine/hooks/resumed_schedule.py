# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What learning rate a resumed run trains at when its config's schedule
differs from the checkpoint's, and how to get the one the config meant.

MMEngine restores each scheduler's state whole, ``end`` and ``T_max``
included: a run resumed with a larger ``train_cfg.max_epochs`` (and so,
where the config gives no ``end``, a longer cosine) goes on with the
checkpoint's schedule. Once that has ended, a scheduler sets nothing, and
every added epoch trains at the last learning rate it set: the cosine of
the tiny configs, ended at epoch 2, gave epochs 3 and 4 of the resumed
run ``lr 0.025`` (half the base), not a decay to ``eta_min``.
:func:`kept_schedule_effect` says so with the numbers;
:func:`~.resume_state_check.check_resume_state` puts it in its warning.
"""
import math
from typing import Any, List, Optional, Tuple

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.runner import IterBasedTrainLoop, Runner

from .new_run_args import new_run_args

__all__ = ['kept_schedule_effect']


def kept_schedule_effect(runner: Runner, checkpoint: dict, meta: dict,
                         source: str) -> str:
    """What the resumed run trains at under the checkpoint's schedule,
    and how to decay over the added epochs instead.

    Args:
        runner (Runner): The resuming runner, its schedulers built.
        checkpoint (dict): The loaded checkpoint, with scheduler and
            optimizer state that fit the run.
        meta (dict): The checkpoint's ``meta`` (its epoch and iteration).
        source (str): The checkpoint file, for the command.

    Returns:
        str: Sentences for the warning of a changed schedule.
    """
    by_iter = isinstance(runner.train_loop, IterBasedTrainLoop)
    unit, done, most = (('iteration', meta['iter'],
                         runner.train_loop.max_iters) if by_iter else
                        ('epoch', meta['epoch'], runner.train_loop.max_epochs))
    states = _lr_scheduler_states(runner, checkpoint)
    if states is None or most <= done or any(not _ended(state)
                                             for _, state in states):
        return ('The learning rate follows the checkpoint\'s schedule to its '
                'end and keeps the last value it set after that. To train '
                'on the new schedule, start a new run from the checkpoint\'s '
                'weights in a work dir of its own (tools/train.py CONFIG '
                f'{new_run_args(runner, source)}, without --resume): the '
                'schedule starts over, with a new optimizer state.')
    lrs = _group_values(checkpoint['optimizer'], 'lr')
    said = ', '.join(f'{lr:.6g}' for lr in sorted(set(lrs)))
    ends = ', '.join(f"{name} end {state['end']} "
                     f"({'epochs' if state['by_epoch'] else 'iterations'})"
                     for name, state in states)
    one = most == done + 1
    added = (f'{unit} {most} (train_cfg.max_{unit}s) trains' if one else
             f'{unit}s {done + 1} to {most} (train_cfg.max_{unit}s) train')
    effect = (f'The checkpoint\'s learning-rate schedule has ended ({ends}):'
              f' {added} at lr {said}, the last value it set.')
    lr = _base_lr_now(runner, checkpoint['optimizer'])
    if lr is None:
        return effect
    them = f'the added {unit}' if one else f'the added {unit}s'
    return (f'{effect} To decay over {them} instead, start a new run from '
            'its weights in a work dir of its own, so that its checkpoints '
            'do not replace this one (its schedule, warm-up included, starts '
            'over from that learning rate and spans them where the config '
            'gives no end/T_max; its optimizer state, e.g. SGD momentum, '
            f'is new): tools/train.py CONFIG {new_run_args(runner, source)} '
            f'train_cfg.max_{unit}s={most - done} '
            f'optim_wrapper.optimizer.lr={lr:.6g}, without --resume.')


def _lr_scheduler_states(runner: Runner,
                         checkpoint: dict) -> Optional[List[Tuple[str, dict]]]:
    """The checkpoint's states of the run's learning-rate schedulers (one
    optimizer), with their types; None for several optimizers or none."""
    schedulers, saved = runner.param_schedulers, checkpoint.get(
        'param_schedulers')
    if not isinstance(schedulers, list) or not isinstance(saved, list):
        return None
    states = [(type(scheduler).__name__, state)
              for scheduler, state in zip(schedulers, saved)
              if isinstance(scheduler, LRSchedulerMixin)]
    return states or None


def _ended(state: dict) -> bool:
    """Whether a scheduler state sets no more values: MMEngine steps a
    scheduler only while ``begin <= _global_step < end``."""
    step, end = state.get('_global_step'), state.get('end')
    return isinstance(step, int) and isinstance(end, (int, float)) and \
        step >= end


def _group_values(optimizer_state: Any, key: str) -> List[float]:
    """The ``key`` of each param group of a (single) optimizer's state."""
    return [group[key] for group in optimizer_state['param_groups']]


def _base_lr_now(runner: Runner, optimizer_state: Any) -> Optional[float]:
    """The config's ``optim_wrapper.optimizer.lr`` scaled as the
    checkpoint's schedule left it (each group's ``lr`` over its
    ``initial_lr``, the same for every group); None where the config has
    no such key or the groups were scaled differently."""
    base = runner.cfg.get('optim_wrapper', {}).get('optimizer', {}).get('lr')
    groups = optimizer_state.get('param_groups') if isinstance(
        optimizer_state, dict) else None
    if not isinstance(base, (int, float)) or not groups or any(
            not group.get('initial_lr') for group in groups):
        return None
    factors = [group['lr'] / group['initial_lr'] for group in groups]
    if any(not math.isclose(f, factors[0]) for f in factors):
        return None
    return base * factors[0]
