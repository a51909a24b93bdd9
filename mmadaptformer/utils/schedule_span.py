# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Warnings of a ``param_scheduler`` that MMEngine builds and runs without a
word, but that does not span training as its config reads.

- Training past the end of the last scheduler of a parameter (a recipe's
  cosine with ``end=90`` under ``train_cfg.max_epochs=120``) holds the
  value the schedule ended with, often its minimum, for the rest of the
  run. A schedule that only warms up to the base value (``LinearLR`` with
  its default ``end_factor=1.0``, ``ConstantLR``) and then holds it is
  meant, and not warned of.
- A cosine whose ``T_max`` is shorter than its span (``T_max=2`` without
  ``end`` under ``train_cfg.max_epochs=8``) reaches its minimum and rises
  again, as a cosine does: the learning rate went 0.05, 0.025, 0, 0.025,
  0.05, ... MMEngine takes ``T_max = end - begin`` when it is not given.

:func:`~mmadaptformer.utils.scheduler_check.check_param_scheduler` finds
the :class:`Span` of each entry; the functions here only compare them.
"""
import logging
import numbers
from typing import Dict, List, NamedTuple, Optional, Tuple

from mmengine.logging import print_log
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.momentum_scheduler import MomentumSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import (
    INF, ConstantParamScheduler, CosineAnnealingParamScheduler,
    LinearParamScheduler)

from .config_place import option_place
from .counted import counted

__all__ = [
    'Span', 'optimizer_of', 'is_number', 'unit_of', 'length_text',
    'warn_if_cosine_turns', 'warn_if_schedule_ends_early'
]


class Span(NamedTuple):
    """An MMEngine scheduler entry that MMEngine builds, and where it runs.

    Args:
        key (str): Its config key, such as ``'param_scheduler[1]'``.
        cls (type): Its MMEngine class.
        entry (dict): Its config dict.
        begin (int | float): Its ``begin``.
        end (int | float): Its ``end``: given, or the training length the
            Runner gives it; MMEngine's ``INF`` for no end.
        length (tuple[str, int] | None): The training length in the
            entry's unit and the ``train_cfg`` key it comes from (see
            :func:`~mmadaptformer.utils.scheduler_check.loop_length`);
            None where it is unknown before the data is built.
    """
    key: str
    cls: type
    entry: dict
    begin: float
    end: float
    length: Optional[Tuple[str, int]]


def optimizer_of(key: str) -> str:
    """``'param_scheduler'``, or ``'param_scheduler.NAME'`` for one of an
    ``OptimWrapperDict``'s optimizers: the part of ``key`` before its
    index."""
    return key.split('[', 1)[0]


def _param(span: Span) -> str:
    """What the entry schedules, in words."""
    if issubclass(span.cls, LRSchedulerMixin):
        return 'learning rate'
    if issubclass(span.cls, MomentumSchedulerMixin):
        return 'momentum'
    name = span.entry.get('param_name')
    return {
        'lr': 'learning rate',
        'momentum': 'momentum'
    }.get(name, repr(name))


def unit_of(entry: dict) -> str:
    """``'epochs'`` or ``'iterations'``: what a scheduler entry counts
    (``by_epoch``, True unless given)."""
    return 'epochs' if entry.get('by_epoch', True) else 'iterations'


def length_text(length: Tuple[str, int]) -> str:
    """``train_cfg.max_epochs=8``; or the loop, for an epoch count under
    an iteration-based loop (see
    :func:`~mmadaptformer.utils.scheduler_check.loop_length`)."""
    if length[0].startswith('train_cfg.'):
        return f'{length[0]}={length[1]}'
    return length[0]


def is_number(value) -> bool:
    """Whether ``value`` is a real number and not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def warn_if_cosine_turns(span: Span, source: str,
                         options: Optional[dict]) -> None:
    """Warn if ``span`` is a cosine whose given ``T_max`` ends before the
    end of its run (its ``end``, or the end of training if sooner).

    Args:
        span (Span): The entry.
        source (str): The config file, for the warning.
        options (dict, optional): The ``--cfg-options`` given.
    """
    t_max = span.entry.get('T_max')
    if not (issubclass(span.cls, CosineAnnealingParamScheduler)
            and is_number(t_max) and t_max > 0):
        return
    given, length = 'end' in span.entry, span.length
    cut = length is not None and length[1] < span.end
    end = length[1] if cut else span.end
    turn = span.begin + t_max
    if end >= INF or turn >= end:
        return
    if cut:
        runs = (f'end={span.end}, but training ends first: '
                f'{length_text(length)}')
    elif given:
        runs = f'end={span.end}'
    else:
        runs = f'no end, so it ends with training: {length_text(length)}'
    places = [f'{span.key}.T_max']
    if cut or not given:
        places.append(length[0])
    places.append(f'{span.key}.end')
    where = next((place for place in (option_place(key, options)
                                      for key in places) if place), source)
    unit = unit_of(span.entry)
    print_log(
        f'{where}: {span.key} ({span.cls.__name__}) has T_max={t_max} '
        f'({unit}) from begin={span.begin} and runs to {unit[:-1]} {end} '
        f'({runs}): its {_param(span)} reaches its minimum at {unit[:-1]} '
        f'{turn} and rises again for the {counted(end - turn, unit)} left, '
        f'as a cosine does (its period is 2 x T_max). Set {span.key}.T_max '
        f'to {span.end - span.begin}, its end minus its begin, or leave '
        'T_max out: MMEngine then takes end - begin.',
        logger='current',
        level=logging.WARNING)


def _warms_up(span: Span) -> bool:
    """Whether the entry ends at the base value, as a warm-up does."""
    if issubclass(span.cls, ConstantParamScheduler):
        return True
    return issubclass(span.cls, LinearParamScheduler) and \
        span.entry.get('end_factor', 1.0) == 1.0


#: What the learning rate's warning adds for a run that resumes
#: (``{key}``: the ``train_cfg`` key of its length).
_RESUMED = (' If the run resumes from a checkpoint, a changed end or T_max '
            'does not apply (MMEngine restores the checkpoint\'s schedule '
            'whole): once the checkpoint\'s schedule has ended, the rest of '
            'the run trains at the last value it set. To decay over the '
            'added {unit} instead, start a new run from its weights in a '
            'work dir of its own, so that its checkpoints do not replace '
            'the one it loads (--work-dir NEW_DIR --cfg-options '
            'load_from=FILE, without --resume) with {key} set to the {unit} '
            'to add and optim_wrapper.optimizer.lr to the learning rate it '
            'stopped at.')


def warn_if_schedule_ends_early(spans: List[Span],
                                source: str,
                                options: Optional[dict],
                                resumes: bool = False) -> None:
    """Warn, for each optimizer and parameter, if its schedulers all end
    before training does and not all of them are warm-ups.

    Args:
        spans (list[Span]): The entries of the optimizers whose every
            entry is MMEngine's and has a known ``begin`` and ``end``.
        source (str): The config file, for the warning.
        options (dict, optional): The ``--cfg-options`` given.
        resumes (bool): Whether the run resumes (``resume=True``): MMEngine
            then restores the checkpoint's schedule whole, and a changed
            ``end``/``T_max`` does not apply. Defaults to False.
    """
    groups: Dict[Tuple[str, str], List[Span]] = {}
    for span in spans:
        groups.setdefault((optimizer_of(span.key), _param(span)),
                          []).append(span)
    for (optimizer, param), members in groups.items():
        lengths = {span.length for span in members}
        length = lengths.pop() if len(lengths) == 1 else None
        if length is None or not length[0].startswith('train_cfg.'):
            continue  # in other units, or ones unknown before the data
        last = max(members, key=lambda span: span.end)
        if last.end >= length[1] or all(map(_warms_up, members)):
            continue
        unit = unit_of(last.entry)
        of = '' if optimizer == 'param_scheduler' else f' ({optimizer})'
        cosine = issubclass(last.cls, CosineAnnealingParamScheduler) and \
            'T_max' in last.entry
        t_max = f' and its T_max to {length[1] - last.begin}' \
            if cosine else ''
        where = option_place(length[0], options) or option_place(
            f'{last.key}.end', options) or source
        print_log(
            f'{where}: the {param} schedule{of} ends at {unit[:-1]} '
            f'{last.end}, the end of {last.key} ({last.cls.__name__}), but '
            f'training runs to {unit[:-1]} {length[1]} '
            f'({length_text(length)}): for the last '
            f'{counted(length[1] - last.end, unit)} the {param} stays at '
            'the value the schedule ended with. For a schedule over the '
            f'whole run, set {last.key}.end to {length[1]}{t_max}, or leave '
            f"its end{' and T_max' if cosine else ''} out: MMEngine then "
            f'ends it with training; or train for '
            f'{counted(last.end, unit)} ({length[0]}={last.end}).' +
            (_RESUMED.format(unit=unit, key=length[0])
             if resumes and param == 'learning rate' else ''),
            logger='current',
            level=logging.WARNING)
