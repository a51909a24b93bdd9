# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a run resumed with another total batch trains at.

MMEngine's checkpoint does not record how many processes trained it:
``Runner.save_checkpoint`` writes a ``meta`` of ``cfg``, ``seed``,
``experiment_name``, ``time``, ``mmengine_version``, ``epoch``, ``iter``
and ``dataset_meta``, and the config holds the batch of one process. A
run trained with ``tools/dist_train.sh CONFIG 2`` and resumed with
``tools/train.py CONFIG --resume`` went on with half the total batch
without a word, at the checkpoint's learning rate: MMEngine loads the
optimizer state with its param groups whole, so the lr ``auto_scale_lr``
gave the new batch does not apply (and the resume warned that the config's
lr had changed, which it had not). A ``convert_to_iter_based`` schedule
is restored in the checkpoint's iterations too, which fall in other
epochs once an epoch takes another number of them. Gradient accumulation
(``optim_wrapper.accumulative_counts``) multiplies the batch an optimizer
step sees: 2 processes accumulating 2 batches train as 4 processes that do
not, and a resume that only changes the accumulation changes it.

:class:`~.resume_check_hook.ResumeCheckHook` records the run's batch in
``meta['train_batch']`` when a checkpoint is saved
(:func:`train_batch_record`); :func:`batch_change_warning` compares the
effective batches (processes x batch of one x accumulated batches) with
the resumed run's. A checkpoint saved before that has no record and is
resumed as before; one whose record predates ``accumulative_counts`` is
taken to have accumulated none (1).
"""
import math
from typing import Any, List, Optional, Sequence, Tuple

from mmengine.runner import Runner

from ..lr_multipliers import auto_scale_ratio, train_batch_size
from ..optimizer_settings import base_settings
from .new_run_args import new_run_args
from .run_optim_wrappers import named_optim_wrappers

__all__ = [
    'TRAIN_BATCH_KEY', 'train_batch_record', 'recorded_batch',
    'batch_change_warning', 'lr_scales', 'unscaled_groups',
    'unrecorded_scale_note', 'epoch_lengths', 'same_in_epochs'
]

#: Where a checkpoint's ``meta`` holds :func:`train_batch_record`.
TRAIN_BATCH_KEY = 'train_batch'


def _lr_scale(runner: Runner) -> Optional[float]:
    """The factor ``auto_scale_lr`` applied to the lr; None where it is
    off."""
    cfg = getattr(runner, 'auto_scale_lr', None)
    return auto_scale_ratio(runner) if cfg and cfg.get('enable') else None


def _epoch_length(runner: Runner) -> Optional[int]:
    """The train DataLoader's length; None for one without a length (an
    iterable dataset's), which no ``convert_to_iter_based`` can use
    either."""
    try:
        return len(runner.train_dataloader)
    except TypeError:
        return None


def _accumulative_counts(runner: Runner) -> Optional[int]:
    """The batches each optimizer step of the run accumulates: 1 where it
    has no built optimizer wrapper, None where its wrappers accumulate
    differently."""
    # MMEngine 0.10.7's OptimWrapper keeps the count only there, with no
    # public accessor; the built wrapper, not the config, as a Runner can
    # be given one built.
    counts = {
        getattr(wrapper, '_accumulative_counts', 1)
        for _, wrapper in named_optim_wrappers(runner)
    }
    if not counts:
        return 1
    return counts.pop() if len(counts) == 1 else None


def train_batch_record(runner: Runner, resumed: Optional[dict] = None) -> dict:
    """What a checkpoint records of the batch its run trained with.

    Args:
        runner (Runner): The training runner, its train DataLoader built.
        resumed (dict, optional): The record of the checkpoint the run
            resumed from, whose ``lr_scale`` the run's lr keeps (MMEngine
            restored its optimizer state). Defaults to None.

    Returns:
        dict: ``world_size`` (processes), ``batch_size`` (of one process,
        as ``Runner.scale_lr`` reads it; None where it cannot be read),
        ``iters_per_epoch`` (the train DataLoader's length, which
        ``convert_to_iter_based`` multiplies by; None without one) and
        ``lr_scale`` (the factor ``auto_scale_lr`` gave the lr the optimizer
        holds; None where it was off) and ``accumulative_counts`` (the
        batches each optimizer step accumulates; None where its optimizer
        wrappers accumulate differently).
    """
    return dict(
        world_size=runner.world_size,
        batch_size=train_batch_size(runner),
        accumulative_counts=_accumulative_counts(runner),
        iters_per_epoch=_epoch_length(runner),
        lr_scale=resumed['lr_scale'] if isinstance(resumed, dict)
        and 'lr_scale' in resumed else _lr_scale(runner))


def recorded_batch(checkpoint: Any) -> Optional[dict]:
    """The checkpoint's :func:`train_batch_record`; None for a checkpoint
    saved without one (before it was written, or by a runner without a
    ResumeCheckHook)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    record = meta.get(TRAIN_BATCH_KEY) if isinstance(meta, dict) else None
    return record if isinstance(record, dict) else None


def _int(record: dict, key: str) -> Optional[int]:
    value = record.get(key)
    return value if isinstance(value, int) and value > 0 else None


def _total(record: dict) -> Optional[int]:
    """The batch of one iteration over all processes, which
    ``auto_scale_lr`` scales the lr by."""
    world, batch = _int(record, 'world_size'), _int(record, 'batch_size')
    return world * batch if world and batch else None


def _accumulated(record: dict) -> int:
    """The record's ``accumulative_counts``: 1 for a record written before
    it was (or of wrappers that accumulate differently)."""
    return _int(record, 'accumulative_counts') or 1


def _effective(record: dict) -> Optional[int]:
    """The batch one optimizer step sees: :func:`_total` times the
    accumulated batches."""
    total = _total(record)
    return total * _accumulated(record) if total else None


def _processes(count: int) -> str:
    return f'{count} process{"es" if count > 1 else ""}'


def _scale(record: dict) -> float:
    scale = record.get('lr_scale')
    return float(scale) if isinstance(scale, (int, float)) else 1.


def lr_scales(runner: Runner,
              checkpoint: Any) -> Optional[Tuple[float, float]]:
    """The factors ``auto_scale_lr`` gave the lr of this run and of the
    checkpoint's (1 where it was off); None where the checkpoint records
    none."""
    record = recorded_batch(checkpoint)
    if record is None:
        return None
    return _scale(train_batch_record(runner)), _scale(record)


def unrecorded_scale_note(runner: Runner) -> str:
    """What the warning of changed optimizer settings says where this run
    has ``auto_scale_lr`` on and the checkpoint records no batch: its lr
    may differ from this run's without any change of the config."""
    record = train_batch_record(runner)
    scale = record['lr_scale']
    if scale is None:
        return ''
    total = _total(record)
    batch = f' for its total batch of {total}' if total else ''
    return (f' (auto_scale_lr is on: this run\'s lr is the config\'s x '
            f'{scale:g}{batch}; the checkpoint does not record the total '
            'batch it was trained with, so one trained on another number of '
            'processes or another batch size has another lr without any '
            'change of the config)')


def unscaled_groups(groups: Sequence[dict], scale: float) -> List[dict]:
    """Copies of param groups with ``lr`` (and the ``initial_lr`` a
    scheduler recorded) divided by ``scale``: the config's values, before
    ``auto_scale_lr``."""
    return [{
        key: value / scale if key in ('lr', 'initial_lr') else value
        for key, value in group.items()
    } for group in groups]


def epoch_lengths(runner: Runner,
                  checkpoint: Any) -> Optional[Tuple[int, int]]:
    """The iterations an epoch took in the checkpoint's run and takes in
    this one, where they differ and the checkpoint records its own."""
    record = recorded_batch(checkpoint)
    old = None if record is None else _int(record, 'iters_per_epoch')
    new = _epoch_length(runner)
    return (old, new) if old and new and old != new else None


def same_in_epochs(saved: Any, own: Any, lengths: Tuple[int, int]) -> bool:
    """Whether a scheduler setting counted in iterations
    (``convert_to_iter_based``) is the same number of epochs in the
    checkpoint (``saved``) and in this run (``own``): ``lengths`` are their
    epochs' iterations. MMEngine rounds each converted value, and takes
    e.g. LinearLR's ``total_iters`` as ``end - begin - 1``, so they may
    differ by up to an epoch's ratio of iterations."""
    if not all(isinstance(v, (int, float)) for v in (saved, own)):
        return False
    old, new = lengths
    return abs(saved * new / old - own) <= max(1., new / old)


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


def _lr_effect(runner: Runner, checkpoint: dict, old: dict, new: dict) -> str:
    """What lr trains: the checkpoint's, restored with its optimizer
    state."""
    if 'optimizer' not in checkpoint or not named_optim_wrappers(runner):
        return ''
    saved, own = _lrs(runner, checkpoint)
    if _same_lr(runner, checkpoint):
        off = (': auto_scale_lr is off, so it is not rescaled to this batch'
               if new.get('lr_scale') is None
               and _effective(old) != _effective(new) else '')
        return (f' The lr stays the checkpoint\'s {saved} (base value, '
                f'before any param_scheduler){off}.')
    old_source = _lr_source(old.get('lr_scale'), None, 'its')
    new_source = _lr_source(new.get('lr_scale'), _total(new), 'the')
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
    if batch and batch != _int(new, 'batch_size'):
        options.append(f'train_dataloader.batch_size={batch}')
    if _accumulated(old) != _accumulated(new):
        options.append(
            f'optim_wrapper.accumulative_counts={_accumulated(old)}')
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
    world, total = _int(old, 'world_size'), _total(old)
    here, now = _int(new, 'world_size'), _total(new)
    effective = _effective(old)
    if world and world != here:
        tool = (f'tools/dist_train.sh CONFIG {world}'
                if world > 1 else 'tools/train.py CONFIG')
        args = _resume_args(old, new, _int(old, 'batch_size'))
        ways.append(f'resume on {_processes(world)} ({tool} ... {args})')
    if total and here and total % here == 0:
        args = _resume_args(old, new, total // here)
        if effective != _effective(new):
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
    accumulated where more than one."""
    counts = _accumulated(record)
    accumulated = f', accumulative_counts={counts}' if counts > 1 else ''
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
        product, the batch one optimizer step sees), the lr that trains and
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
    was, now = _effective(old), _effective(new)
    scales = (old.get('lr_scale'), new.get('lr_scale'))
    lengths = epoch_lengths(runner, checkpoint)
    if was and now and was != now:
        steps = (f', so an epoch takes {lengths[1]} iterations instead of '
                 f'{lengths[0]}' if lengths else '')
        head = (f'Resuming from {source} with another total batch: the '
                f'checkpoint was trained with {was} ({_split(old)}) and this '
                f'run has {now} ({_split(new)}){steps}.')
    elif _scales_differ(*scales) and not _same_lr(runner, checkpoint):
        same = f' for the same total batch of {now}' if was == now else ''
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
        head = (f'Resuming from {source} with the same total batch of {now} '
                f'split otherwise: {_split(old)} in the checkpoint\'s run, '
                f'{_split(new)} in this one, so an epoch takes {lengths[1]} '
                f'iterations instead of {lengths[0]}.')
    else:
        return None
    return (f'{head}{_lr_effect(runner, checkpoint, old, new)}'
            f'{_schedule_effect(runner, checkpoint, lengths)}'
            f'{_advice(runner, old, new, source)}')
