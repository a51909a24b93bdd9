# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse to resume from a checkpoint that cannot continue the run exactly.

MMEngine's ``Runner.resume`` restores what a checkpoint holds and skips the
rest, without a word:

* a file that training did not write (a backbone's pretrained weights,
  a model's weights saved alone) has no epoch to resume at, and fails
  with ``KeyError: 'meta'`` after its weights were loaded;
* a checkpoint without optimizer or param scheduler state (a
  ``best_*.pth``, one saved with ``save_optimizer=False``) "resumes" with a
  fresh optimizer (SGD momentum reset) and the schedule restarted at its
  base learning rate, while the log says ``resumed epoch: N``;
* optimizer state of another model or config (other trainable
  parameters, another ``paramwise_cfg``) ends in a traceback from torch;
* scheduler states are paired with the config's schedulers in order, so
  with another number or type of schedulers a state lands on the wrong
  one;
* the checkpoint's scheduler state replaces the config's, so raising
  ``T_max``/``end`` to extend a run does not change the learning rate: the
  added epochs train at the last one the ended schedule set
  (:mod:`.resumed_schedule`);
* the checkpoint's optimizer param groups replace the config's, so a
  changed ``lr``, ``weight_decay``, ``momentum`` or ``betas`` does not
  apply;
* on another number of processes (or batch size) the total batch
  changes, the checkpoint's lr trains, not the one ``auto_scale_lr`` gave
  the new batch, and a ``convert_to_iter_based`` schedule keeps the
  checkpoint's iterations (:mod:`.resumed_batch`).

:func:`check_resume_state` turns the first four into errors that name the
file and say what to do, and logs a warning for each of the last three;
:class:`~.resume_check_hook.ResumeCheckHook` calls it when a run resumes.
"""
import logging
from typing import Any, Dict, List

from mmengine.runner import IterBasedTrainLoop, Runner

from mmadaptformer.utils.model_unwrap import unwrapped_model
from mmadaptformer.utils.trained_part_fit import (added_part_keys,
                                                  trained_part_name)
from ..adapter_checkpoint import checkpoint_meta
from ..optimizer_settings import optimizer_setting_changes, values_differ
from .new_run_args import checkpoint_file, new_run_args, new_work_dir
from .resume_state_fit import (optimizer_state_mismatch, scheduler_config_keys,
                               scheduler_setting_keys, scheduler_state_lists)
from .resumed_batch import (epoch_lengths, lr_scales, same_in_epochs,
                            unrecorded_scale_note, unscaled_groups)
from .resumed_batch_warning import batch_change_warning
from .resumed_schedule import kept_schedule_effect
from .run_optim_wrappers import named_optim_wrappers, run_trains
from .weights_file import trained_part_tensors, untrained_file, weight_keys

__all__ = [
    'ResumeStateError', 'check_resume_state', 'check_training_state',
    'refuse_resume_without_trained_part', 'resumed_source'
]

_LOAD_FROM_HINT = ('To start a new schedule from its weights, load it with '
                   'load_from in a work dir of its own instead '
                   '(tools/train.py CONFIG {args}, without --resume).')
# What a resumed checkpoint is, for the error about one that is not.
_RESUMABLE = ('Resume from a checkpoint that training saved (a dict with a '
              "'meta' dict, 'state_dict', 'optimizer', ...): the run's "
              'epoch_N.pth or iter_N.pth.')


class ResumeStateError(RuntimeError):
    """A checkpoint cannot continue the run it is resumed into."""


def resumed_source(runner: Runner) -> str:
    """The checkpoint a resuming runner loads, for messages: ``load_from``
    (``--resume PATH``, or the file ``--resume auto`` chose), else the
    latest checkpoint of the work dir (MMEngine's own auto-resume).

    Args:
        runner (Runner): The resuming runner.

    Returns:
        str: The file, or a description of it.
    """
    load_from = runner.cfg.get('load_from')
    if load_from:
        return str(load_from)
    return f'The latest checkpoint in work_dir {runner.work_dir}'


def refuse_resume_without_trained_part(runner: Runner,
                                       checkpoint: dict) -> None:
    """Refuse to resume from a full checkpoint that holds none of the
    model's adapters (or prompts): they would train from their
    initialisation while the run went on with the checkpoint's epoch,
    optimizer and schedule. :class:`~mmadaptformer.engine.AdapterHook`
    calls it; training from such a checkpoint (``load_from``) is allowed.

    Args:
        runner (Runner): The resuming runner.
        checkpoint (dict): The loaded checkpoint.

    Raises:
        ResumeStateError: Always, naming the file and what to do.
    """
    source = resumed_source(runner)
    at = _resumed_at(runner, check_training_state(runner, checkpoint, source))
    # The keys check_holds_trained_part found none of, which AdapterHook
    # asked before calling this.
    model = unwrapped_model(runner.model)
    keys, part = added_part_keys(model), trained_part_name(model)
    file = checkpoint_file(source)
    other = trained_part_tensors(model, weight_keys(checkpoint))
    if other:
        # --pretrained and load_from refuse it too.
        raise ResumeStateError(
            f'{source} cannot be resumed with this config: it holds none of '
            f'the model\'s {len(keys)} {part} tensors (e.g. {keys[0]}) but '
            f'{len(other)} {part} tensors this model lacks (e.g. {other[0]}): '
            f'it is a checkpoint of a model with other {part}s (e.g. on '
            f'other blocks), saved after {at}. Resume it with '
            'the config that trained it, or resume from a checkpoint that '
            'this config\'s training wrote, or use another --work-dir.')
    raise ResumeStateError(
        f'{source} cannot be resumed with this config: it holds none of '
        f'the model\'s {len(keys)} {part} tensors (e.g. {keys[0]}), so the '
        f'{part}s would train from their initialisation while the run went '
        f'on after {at} with the checkpoint\'s optimizer and '
        f'schedule. It is a checkpoint of a model without these {part}s (a '
        'stock or fully fine-tuned model, e.g. another run\'s checkpoint in '
        'this work dir). Resume from a checkpoint that this config\'s '
        'training wrote, or use another --work-dir; to train this config '
        f'from its weights, give it to tools/train.py as --pretrained {file}'
        ' (the frozen backbone) or load_from, in a work dir of its own '
        f'(tools/train.py CONFIG {new_run_args(runner, source)}), without '
        '--resume.')


def check_training_state(runner: Runner, checkpoint: Any, source: str) -> dict:
    """Refuse to resume from a file that training did not write: one
    without the epoch and iteration in its ``meta``, such as a backbone's
    pretrained weights (:func:`~.weights_file.untrained_file`).

    Args:
        runner (Runner): The resuming runner, its model built.
        checkpoint (Any): The loaded checkpoint.
        source (str): The checkpoint file, for the messages.

    Returns:
        dict: The checkpoint's ``meta``.

    Raises:
        ResumeStateError: If it holds no epoch or iteration; the message
            says what the file holds and how to start a run from it
            (``--pretrained FILE`` or ``load_from``).
        StateDictMismatchError: If it is not a dict.
        CheckpointMetaError: If its ``meta`` is not a dict (a
            ``StateDictMismatchError`` too), as every reader of a
            checkpoint's ``meta`` refuses it.
    """
    meta = checkpoint_meta(checkpoint, source, _RESUMABLE, 'train')
    problem = untrained_file(checkpoint, meta, unwrapped_model(runner.model),
                             source, checkpoint_file(source),
                             new_work_dir(runner, source))
    if problem:
        raise ResumeStateError(problem)
    return meta


def _resumed_at(runner: Runner, meta: dict) -> str:
    """Where the resumed run goes on, for messages: after the checkpoint's
    iteration in an iteration-based run (whose epoch stays 0), else after
    its epoch and iteration (a checkpoint saved every N iterations of an
    epoch-based run may be one of the middle of an epoch)."""
    if isinstance(runner.train_loop, IterBasedTrainLoop):
        return f"iteration {meta['iter']}"
    return f"epoch {meta['epoch']} (iteration {meta['iter']})"


def _hint(runner: Runner, source: str) -> str:
    return _LOAD_FROM_HINT.format(args=new_run_args(runner, source))


def _check_present(runner: Runner, checkpoint: dict, source: str,
                   at: str) -> None:
    """Refuse a checkpoint without the optimizer or scheduler state that
    the run has."""
    lacking, effects = [], []
    if run_trains(runner) and 'optimizer' not in checkpoint:
        lacking.append("optimizer state ('optimizer')")
        effects.append('a new optimizer state (e.g. SGD momentum reset)')
    if runner.param_schedulers is not None and \
            'param_schedulers' not in checkpoint:
        lacking.append("param scheduler state ('param_schedulers')")
        effects.append('the learning-rate schedule restarted at its base '
                       'values')
    if not lacking:
        return
    raise ResumeStateError(
        f'{source} cannot be resumed: it holds no {" and no ".join(lacking)}'
        f' (only {", ".join(map(str, checkpoint))}), so training would go on '
        f'after {at} with {" and ".join(effects)}, not where the '
        'run stopped. It is a checkpoint of the weights alone (e.g. a '
        'best_*.pth, or one saved with save_optimizer=False or '
        'save_param_scheduler=False). Resume from one of the run\'s '
        f'epoch_N.pth or iter_N.pth. {_hint(runner, source)}')


def _check_optimizer_fits(runner: Runner, state: Any, source: str) -> None:
    """Refuse optimizer state that does not fit the run's optimizer, which
    torch would refuse with a traceback (or load onto other tensors)."""
    for name, wrapper in named_optim_wrappers(runner):
        if name:
            part = state.get(name) if isinstance(state, dict) else None
            if part is None:
                why = f"it holds no state of the optimizer '{name}'"
            else:
                why = optimizer_state_mismatch(wrapper, part)
        else:
            why = optimizer_state_mismatch(wrapper, state)
        if why is None:
            continue
        which = f" '{name}'" if name else ''
        raise ResumeStateError(
            f'{source} cannot be resumed: its optimizer state does not fit '
            f'this run\'s optimizer{which}: {why}. It was saved by another '
            'model or config (other trainable parameters, e.g. another '
            'AdapterHook mode, extra_trainable or adapters; another '
            'optim_wrapper.paramwise_cfg), or is another run\'s checkpoint '
            'in this work dir. Resume it with the config it was trained '
            f'with, or use another --work-dir. {_hint(runner, source)}')


def _check_schedulers(runner: Runner, checkpoint: dict,
                      source: str) -> List[str]:
    """Refuse scheduler states that do not pair with the config's
    schedulers; return one line per scheduler whose configuration differs
    from the checkpoint's, less those counted in iterations that only
    differ by the length of an epoch (another total batch, which
    :func:`~.resumed_batch_warning.batch_change_warning` tells)."""
    saved, changes = checkpoint['param_schedulers'], []
    lengths = epoch_lengths(runner, checkpoint)
    for key, schedulers, states in scheduler_state_lists(
            runner.param_schedulers, saved):
        types = [type(s).__name__ for s in schedulers]
        if not isinstance(states, list) or len(states) != len(schedulers):
            count = len(states) if isinstance(states, list) else 'no'
            raise ResumeStateError(
                f'{source} cannot be resumed: it holds {count} param '
                f'scheduler states for {key}, but the config builds '
                f'{len(schedulers)} ({", ".join(types)}); MMEngine would '
                'pair them in order and load a state onto the wrong '
                'scheduler. It was saved with another param_scheduler: '
                'resume it with the config it was trained with. '
                f'{_hint(runner, source)}')
        for index, (scheduler, state) in enumerate(zip(schedulers, states)):
            own = scheduler.state_dict()
            own_keys = set(scheduler_config_keys(own))
            if not isinstance(state, dict) or \
                    own_keys != set(scheduler_config_keys(state)):
                raise ResumeStateError(
                    f'{source} cannot be resumed: its state of {key}[{index}]'
                    f' is not that of a {types[index]}, the scheduler the '
                    'config builds there; it was saved with another '
                    'param_scheduler: resume it with the config it was '
                    f'trained with. {_hint(runner, source)}')
            keys = [
                k for k in scheduler_setting_keys(own)
                if values_differ(state[k], own[k])
            ]
            if lengths and not scheduler.by_epoch and all(
                    same_in_epochs(state[k], own[k], lengths) for k in keys):
                continue
            diffs = [f'{k} {state[k]!r} vs {own[k]!r}' for k in keys]
            if diffs:
                changes.append(f'{types[index]} ({key}[{index}]): '
                               f'{", ".join(diffs)}')
    return changes


def check_resume_state(runner: Runner, checkpoint: Dict[str, Any],
                       source: str) -> None:
    """Check that ``checkpoint`` can continue ``runner``'s run exactly.

    Args:
        runner (Runner): A runner whose optimizer and schedulers are built
            (as when ``Runner.train`` resumes).
        checkpoint (dict): The loaded checkpoint.
        source (str): The checkpoint file, for the messages.

    Raises:
        ResumeStateError: If the checkpoint holds no epoch and iteration
            (training did not write it), no optimizer or scheduler state
            that the run has, or state that does not fit the run's
            optimizer or schedulers.
        StateDictMismatchError: If it is not a dict or its ``meta`` is not
            (:func:`~mmadaptformer.engine.adapter_checkpoint.
            checkpoint_meta`).
    """
    meta = check_training_state(runner, checkpoint, source)
    _check_present(runner, checkpoint, source, _resumed_at(runner, meta))
    if 'optimizer' in checkpoint:
        _check_optimizer_fits(runner, checkpoint['optimizer'], source)
    changes = [] if runner.param_schedulers is None else _check_schedulers(
        runner, checkpoint, source)
    batch = batch_change_warning(runner, checkpoint, source)
    if batch:
        runner.logger.log(logging.WARNING, batch)
    if changes:
        runner.logger.log(
            logging.WARNING,
            f'Resuming from {source}: the config\'s param_scheduler differs '
            f'from the checkpoint\'s ({"; ".join(changes)}; checkpoint vs '
            'config), and the checkpoint\'s schedule is kept: MMEngine '
            'restores each scheduler\'s state whole, so this change (e.g. a '
            'larger T_max/end to extend a run) does not apply. '
            f'{kept_schedule_effect(runner, checkpoint, meta, source)}')
    if 'optimizer' in checkpoint:
        _warn_optimizer_changes(runner, checkpoint['optimizer'],
                                checkpoint['meta'], source)


def _warn_optimizer_changes(runner: Runner, state: Any, meta: dict,
                            source: str) -> None:
    """Warn that the config's optimizer settings which differ from the
    checkpoint's are replaced by the checkpoint's (state that fits the
    run's optimizer, :func:`_check_optimizer_fits`)."""
    # The config's lr, before auto_scale_lr, on both sides where the
    # checkpoint records its factor: another number of processes alone
    # is no change of the config (batch_change_warning tells it).
    scales = lr_scales(runner, {'meta': meta})
    own_scale, saved_scale = scales or (1., 1.)
    changes = []
    for name, wrapper in named_optim_wrappers(runner):
        saved = state[name] if name else state
        changes += optimizer_setting_changes(
            unscaled_groups(wrapper.optimizer.param_groups, own_scale),
            unscaled_groups(saved['param_groups'], saved_scale),
            f'optim_wrapper[{name!r}] ' if name else '')
    if not changes:
        return
    scaled = scales is not None and scales != (1., 1.)
    before = ('any param_scheduler and auto_scale_lr'
              if scaled else 'any param_scheduler')
    unknown = '' if scales else unrecorded_scale_note(runner)
    runner.logger.log(
        logging.WARNING,
        f'Resuming from {source}: the config\'s optimizer settings differ '
        f'from the checkpoint\'s ({"; ".join(changes)}; base values, before '
        f'{before}){unknown}, and the checkpoint\'s are kept: MMEngine '
        'loads the optimizer state with its param groups whole, so the '
        'config\'s values do not apply and training goes on with the '
        'settings the run was trained with. To train with the new settings, '
        'start a new run from the checkpoint\'s weights with load_from in '
        f'a work dir of its own (tools/train.py CONFIG '
        f'{new_run_args(runner, source)}, without --resume).')
