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
(:func:`train_batch_record`); this module reads the records back
(:func:`effective_batch`: processes x batch of one x accumulated batches),
and :func:`~.resumed_batch_warning.batch_change_warning` compares the
checkpoint's with the resumed run's. A checkpoint saved before that has no
record and is resumed as before; one whose record predates
``accumulative_counts`` is taken to have accumulated none (1). A run whose
optimizer wrappers keep no count (DeepSpeed's, which accumulates through
DeepSpeed's own config) records None: the batch its optimizer steps see is
not known, and is compared as such.
"""
from typing import Any, List, Optional, Sequence, Tuple

from mmengine.runner import Runner

from ..lr_multipliers import auto_scale_ratio, train_batch_size
from .run_optim_wrappers import named_optim_wrappers

__all__ = [
    'TRAIN_BATCH_KEY', 'train_batch_record', 'recorded_batch', 'record_count',
    'total_batch', 'accumulated_batches', 'effective_batch', 'lr_scales',
    'unscaled_groups', 'unrecorded_scale_note', 'epoch_lengths',
    'same_in_epochs'
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
    has no built optimizer wrapper, None (unknown) where a wrapper keeps
    no count or its wrappers accumulate differently."""
    # MMEngine 0.10.7's OptimWrapper keeps the count only in the private
    # ``_accumulative_counts``, with no public accessor (``inner_count``
    # counts iterations). A BaseOptimWrapper subclass that is no
    # OptimWrapper keeps none (DeepSpeedOptimWrapper accumulates through
    # DeepSpeed's own config): MMEngine's strategies read it as 1, but
    # what such a wrapper accumulates is not known here. An
    # OptimWrapperDict holds none itself; named_optim_wrappers gives its
    # wrappers. The built wrappers, not the config, as a Runner can be
    # given them built.
    counts = {
        getattr(wrapper, '_accumulative_counts', None)
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
        batches each optimizer step accumulates; None where it is not
        known: a wrapper keeps no count as an OptimWrapper does, or the
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


def record_count(record: dict, key: str) -> Optional[int]:
    """A count a :func:`train_batch_record` holds.

    Args:
        record (dict): The record.
        key (str): Its key, e.g. ``'world_size'``.

    Returns:
        int, optional: The value; None where it is missing or not a
        positive int.
    """
    value = record.get(key)
    return value if isinstance(value, int) and value > 0 else None


def total_batch(record: dict) -> Optional[int]:
    """The batch of one iteration over all processes, which
    ``auto_scale_lr`` scales the lr by.

    Args:
        record (dict): A :func:`train_batch_record`.

    Returns:
        int, optional: Processes x batch of one; None where either is not
        recorded.
    """
    world = record_count(record, 'world_size')
    batch = record_count(record, 'batch_size')
    return world * batch if world and batch else None


def accumulated_batches(record: dict) -> Optional[int]:
    """The record's ``accumulative_counts``.

    Args:
        record (dict): A :func:`train_batch_record`.

    Returns:
        int, optional: The count; 1 for a record written before it was;
        None where the record says it is not known (wrappers that keep no
        count, or accumulate differently).
    """
    if 'accumulative_counts' not in record:
        return 1
    return record_count(record, 'accumulative_counts')


def effective_batch(record: dict) -> Optional[int]:
    """The batch one optimizer step sees.

    Args:
        record (dict): A :func:`train_batch_record`.

    Returns:
        int, optional: :func:`total_batch` times
        :func:`accumulated_batches`; None where either is not known.
    """
    total, counts = total_batch(record), accumulated_batches(record)
    return total * counts if total and counts else None


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
    total = total_batch(record)
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
    old = None if record is None else record_count(record, 'iters_per_epoch')
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
