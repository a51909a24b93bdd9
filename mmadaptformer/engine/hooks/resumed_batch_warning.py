# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The warning for a resume with another batch than its checkpoint's.

The checkpoint's :func:`~.resumed_batch.train_batch_record` against the
resumed run's (see :mod:`.resumed_batch` for what MMEngine loses without
them): the batches an optimizer step sees, the lr that trains, where a
``convert_to_iter_based`` schedule ends now, and the commands that go on
with the checkpoint's batch and lr. Where a side's accumulation is not
known (an optimizer wrapper that keeps no count), the batches of one
iteration are compared instead, and no batch of an optimizer step is
claimed.
"""
import math
from typing import Optional, Sequence, Tuple

from mmengine.runner import Runner

from ..optimizer_settings import base_settings
from .new_run_args import new_run_args
from .resumed_batch import (accumulated_batches, effective_batch,
                            epoch_lengths, record_count, recorded_batch,
                            total_batch, train_batch_record)
from .run_optim_wrappers import named_optim_wrappers

__all__ = ['batch_change_warning']


def _processes(count: int) -> str:
    return f'{count} process{"es" if count > 1 else ""}'


def _base_lrs(groups: Sequence[dict]) -> str:
    values = {base_settings(group).get('lr') for group in groups}
    return ', '.join(f'{v:.6g}' for v in sorted(values - {None}))


def _lrs(runner: Runner, checkpoint: dict) -> Tuple[str, str]:
    """The base lrs of the checkpoint's param groups and of this run's."""
    saved, own = [], []
    for name, wrapper in named_optim_wrappers(runner):
        state = checkpoint['optimizer'][name] if name else \
            checkpoint['optimizer']
        saved += state['param_groups']
        own += wrapper.optimizer.param_groups
    return _base_lrs(saved), _base_lrs(own)


def _factor(scale: Optional[float]) -> str:
    return 'off' if scale is None else f'x {scale:g}'


def _same_lr(runner: Runner, checkpoint: dict) -> bool:
    """Whether the checkpoint's base lrs are the ones this run set up (an
    ``auto_scale_lr`` factor of 1 and none train alike)."""
    if 'optimizer' not in checkpoint or not named_optim_wrappers(runner):
        return True
    saved, own = _lrs(runner, checkpoint)
    return saved == own


def _lr_source(scale: Optional[float], total: Optional[int],
               whose: str) -> str:
    if scale is None:
        return f'{whose} config\'s lr, auto_scale_lr off'
    batch = f' for a total batch of {total}' if total else ''
    return f'{whose} config\'s lr x {scale:g} by auto_scale_lr{batch}'


def _batch_changed(old: dict, new: dict) -> bool:
    """Whether the batch an optimizer step sees changed; where either
    side's is not known, whether the batch of one iteration did."""
    was, now = effective_batch(old), effective_batch(new)
    if was and now:
        return was != now
    was, now = total_batch(old), total_batch(new)
    return bool(was and now and was != now)


def _lr_effect(runner: Runner, checkpoint: dict, old: dict, new: dict) -> str:
    """What lr trains: the checkpoint's, restored with its optimizer
    state."""
    if 'optimizer' not in checkpoint or not named_optim_wrappers(runner):
        return ''
    saved, own = _lrs(runner, checkpoint)
    if _same_lr(runner, checkpoint):
        off = (': auto_scale_lr is off, so it is not rescaled to this batch'
               if new.get('lr_scale') is None and _batch_changed(old, new) else
               '')
        return (f' The lr stays the checkpoint\'s {saved} (base value, '
                f'before any param_scheduler){off}.')
    old_source = _lr_source(old.get('lr_scale'), None, 'its')
    new_source = _lr_source(new.get('lr_scale'), total_batch(new), 'the')
    return (' MMEngine restores the optimizer state with its param groups '
            f'whole, so training goes on at the checkpoint\'s lr {saved} '
            f'({old_source}), not at the lr {own} this run set up '
            f'({new_source}); base values, before any param_scheduler.')


def _schedule_effect(runner: Runner, checkpoint: dict,
                     lengths: Optional[Tuple[int, int]]) -> str:
    """Where the checkpoint's schedule counted in iterations ends, in its
    epochs and in this run's."""
    configs = runner.cfg.get('param_scheduler')
    states = checkpoint.get('param_schedulers')
    if lengths is None or not isinstance(configs, list) or \
            not isinstance(states, list):
        return ''
    old, new = lengths
    ends = [
        f"{config.get('type')} (param_scheduler[{index}]) ends at iteration "
        f"{state['end']}: after epoch {state['end'] / old:g} there, "
        f"{state['end'] / new:g} here"
        for index, (config, state) in enumerate(zip(configs, states))
        if isinstance(config, dict) and config.get('convert_to_iter_based')
        and isinstance(state, dict) and isinstance(state.get('end'), int)
    ]
    if not ends:
        return ''
    return (' The param_scheduler counted in iterations '
            '(convert_to_iter_based) is restored as the checkpoint has it: '
            f'{"; ".join(ends)}. After the last of them ends, the lr stays at '
            'the last value set.')


def _resume_args(old: dict, new: dict, batch: Optional[int]) -> str:
    """The arguments to add to this run's ``--resume`` for a per-process
    batch of ``batch`` and the checkpoint's accumulation and
    ``auto_scale_lr``."""
    options = []
    if batch and batch != record_count(new, 'batch_size'):
        options.append(f'train_dataloader.batch_size={batch}')
    counts = accumulated_batches(old), accumulated_batches(new)
    # No count to advise where either side's is not known.
    if None not in counts and counts[0] != counts[1]:
        options.append(f'optim_wrapper.accumulative_counts={counts[0]}')
    was_on = old.get('lr_scale') is not None
    is_on = new.get('lr_scale') is not None
    if is_on and not was_on:
        options.append('auto_scale_lr.enable=False')
    flag = ' --auto-scale-lr' if was_on and not is_on else ''
    return (f'--resume{flag}'
            f'{" --cfg-options " + " ".join(options) if options else ""}')


def _advice(runner: Runner, old: dict, new: dict, source: str) -> str:
    """The ways to go on with the checkpoint's total batch and lr."""
    ways = []
    world, total = record_count(old, 'world_size'), total_batch(old)
    here, now = record_count(new, 'world_size'), total_batch(new)
    effective, effective_now = effective_batch(old), effective_batch(new)
    if world and world != here:
        tool = (f'tools/dist_train.sh CONFIG {world}'
                if world > 1 else 'tools/train.py CONFIG')
        args = _resume_args(old, new, record_count(old, 'batch_size'))
        ways.append(f'resume on {_processes(world)} ({tool} ... {args})')
    if total and here and total % here == 0:
        args = _resume_args(old, new, total // here)
        if effective and effective_now and effective != effective_now:
            keep = f'keep its total batch of {effective} on {_processes(here)}'
        elif total != now:
            keep = (f'keep its iterations of {total} samples on '
                    f'{_processes(here)}')
        else:
            keep = 'resume with its auto_scale_lr'
        ways.append(f'{keep} (... {args})')
    keep = f' To go on as it trained, {" or ".join(ways)}.' if ways else ''
    return (f'{keep} To train on with this run\'s batch and lr instead, '
            'start a new run from its weights in a work dir of its own '
            f'(tools/train.py CONFIG {new_run_args(runner, source)}, without '
            '--resume): its schedule and optimizer state start over.')


def _split(record: dict) -> str:
    """A total batch as processes x batch of one, and the batches
    accumulated where more than one or not known."""
    counts = accumulated_batches(record)
    accumulated = (', accumulative_counts unknown' if counts is None else
                   f', accumulative_counts={counts}' if counts > 1 else '')
    return (f'{_processes(record["world_size"])} x {record["batch_size"]}'
            f'{accumulated}')


def _scales_differ(old: Optional[float], new: Optional[float]) -> bool:
    if old is None or new is None:
        return (old is None) != (new is None)
    return not math.isclose(old, new)


def batch_change_warning(runner: Runner, checkpoint: dict,
                         source: str) -> Optional[str]:
    """The warning for a resume with another total batch, another
    ``auto_scale_lr`` factor, or the same total batch in iterations of
    another size under a schedule counted in iterations, than the
    checkpoint recorded.

    Args:
        runner (Runner): The resuming runner, its optimizer and
            schedulers built, nothing loaded yet.
        checkpoint (dict): The loaded checkpoint, with state that fits the
            run.
        source (str): The checkpoint file, for the message.

    Returns:
        str, optional: The warning: both batches (processes x batch of
        one, and ``accumulative_counts`` where above 1; compared as their
        product, the batch one optimizer step sees, or where either side's
        accumulation is not known, without it), the lr that trains and
        the one this run set up, where a ``convert_to_iter_based`` schedule
        ends now, and the commands that go on with the checkpoint's batch
        and lr. None where nothing changed, where only the split of the
        same batch changed and no schedule counts iterations, or where the
        checkpoint records no batch.
    """
    old = recorded_batch(checkpoint)
    if old is None:
        return None
    new = train_batch_record(runner)
    was, now = effective_batch(old), effective_batch(new)
    scales = (old.get('lr_scale'), new.get('lr_scale'))
    lengths = epoch_lengths(runner, checkpoint)
    steps = (f', so an epoch takes {lengths[1]} iterations instead of '
             f'{lengths[0]}' if lengths else '')
    if was and now and was != now:
        head = (f'Resuming from {source} with another total batch: the '
                f'checkpoint was trained with {was} ({_split(old)}) and this '
                f'run has {now} ({_split(new)}){steps}.')
    elif not (was and now) and _batch_changed(old, new):
        head = (f'Resuming from {source} with another batch per iteration: '
                f'the checkpoint was trained with {total_batch(old)} '
                f'({_split(old)}) and this run has {total_batch(new)} '
                f'({_split(new)}){steps}; the batch an optimizer step sees '
                'is not known where the optimizer wrapper keeps no '
                'accumulative_counts (DeepSpeed\'s accumulates through its '
                'own config).')
    elif _scales_differ(*scales) and not _same_lr(runner, checkpoint):
        same = f' for the same total batch of {now}' if was and was == now \
            else ''
        # The same batch a step sees, in iterations of another size.
        steps = (f' ({_split(old)} there, {_split(new)} here, so an epoch '
                 f'takes {lengths[1]} iterations instead of {lengths[0]})'
                 if lengths else '')
        head = (f'Resuming from {source} with another auto_scale_lr '
                f'factor{same}{steps}: '
                f'{_factor(scales[0])} in the checkpoint\'s run, '
                f'{_factor(scales[1])} in this one.')
    elif lengths and _schedule_effect(runner, checkpoint, lengths):
        # The same batch per optimizer step, split into other iterations:
        # only a schedule counted in iterations moves.
        same = (f'the same total batch of {now}' if now else
                f'the same batch per iteration of {total_batch(new)}')
        head = (f'Resuming from {source} with {same} '
                f'split otherwise: {_split(old)} in the checkpoint\'s run, '
                f'{_split(new)} in this one, so an epoch takes {lengths[1]} '
                f'iterations instead of {lengths[0]}.')
    else:
        return None
    return (f'{head}{_lr_effect(runner, checkpoint, old, new)}'
            f'{_schedule_effect(runner, checkpoint, lengths)}'
            f'{_advice(runner, old, new, source)}')
