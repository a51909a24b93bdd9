# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check each ``param_scheduler`` entry's ``begin`` and ``end`` against
the training length before the Runner builds anything.

MMEngine's param schedulers refuse ``end <= begin``. A scheduler without
``end`` ends with the train loop (``train_cfg.max_epochs`` for one counted
in epochs, ``train_cfg.max_iters`` for one counted in iterations), so a
short run of a stock recipe (``train_cfg.max_epochs=1`` under a
``CosineAnnealingLR`` with ``begin=20``) failed once training started,
after the model, the optimizer and the data loaders were built, with
``ValueError: end should be larger than begin, but got begin=20, end=1``,
naming no config key. :func:`check_param_scheduler` names the entry, its
``begin`` and ``end`` and the ``train_cfg`` value first.

It refuses only what MMEngine would refuse. ``convert_to_iter_based``
multiplies ``begin`` and ``end`` (unless it is MMEngine's ``INF``) by the
epoch length and rounds them down, which keeps ``begin >= end``; an
``end`` that would depend on the epoch length (an iteration-counted
scheduler without ``end`` under an epoch-based loop) and a scheduler that
is not MMEngine's own (which may check otherwise) are left to the Runner.

A run shorter than a scheduler's explicit ``end`` (a stock recipe's
``LinearLR`` warm-up with ``end=200`` under ``train_cfg.max_epochs=1``) is
valid for MMEngine, but the learning rate never reaches the schedule's
later values; :func:`check_param_scheduler` logs a warning naming the entry,
its ``end`` and the training length, in the entry's unit.

The opposite is silent in MMEngine and as wrong: training past the end of
the schedule, and a cosine whose ``T_max`` is shorter than its span (it
rises again). :func:`check_param_scheduler` warns of both too, once no
entry is refused; :mod:`mmadaptformer.utils.schedule_span` says when.
"""
import logging
from typing import Iterator, Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmengine.registry import PARAM_SCHEDULERS

from .config_error import ConfigError
from .config_place import option_place
from .counted import counted
from .registry_names import registered, use_default_scope
from .runner_arguments import check_arguments
from .runner_type import mmengine_runner
from .schedule_span import (Span, is_number, length_text, optimizer_of,
                            unit_of, warn_if_cosine_turns,
                            warn_if_schedule_ends_early)

__all__ = ['check_param_scheduler', 'scheduler_entries', 'loop_length']

#: What MMEngine's ``build_scheduler_from_cfg`` reads of a scheduler dict
#: itself (``epoch_length`` is the Runner's default argument).
_BUILDER_KEYS = ('convert_to_iter_based', 'epoch_length')

#: The loops whose length the Runner gives a scheduler without ``end``.
_EPOCH_LOOP = 'EpochBasedTrainLoop'
_ITER_LOOP = 'IterBasedTrainLoop'


def scheduler_entries(schedulers) -> Iterator[Tuple[str, dict]]:
    """``(config key, dict)`` of each scheduler dict of ``param_scheduler``:
    one dict, a list of them, or a dict of those per optimizer (for an
    ``OptimWrapperDict``)."""
    if isinstance(schedulers, dict) and 'type' not in schedulers:
        for name, value in schedulers.items():
            for key, entry in scheduler_entries(value):
                yield key.replace('param_scheduler', f'param_scheduler.{name}',
                                  1), entry
    elif isinstance(schedulers, dict):
        yield 'param_scheduler', schedulers
    elif isinstance(schedulers, (list, tuple)):
        for index, entry in enumerate(schedulers):
            if isinstance(entry, dict):
                yield f'param_scheduler[{index}]', entry


def loop_length(train_cfg, by_epoch: bool) -> Optional[Tuple[str, int]]:
    """The ``end`` the Runner gives a scheduler without one, and the
    ``train_cfg`` key it comes from; None where it depends on the epoch
    length or the loop is not MMEngine's.

    Args:
        train_cfg: The config's ``train_cfg``.
        by_epoch (bool): Whether the scheduler counts epochs.

    Returns:
        tuple[str, int] | None: Such as ``('train_cfg.max_epochs', 1)``;
        ``('train_cfg (IterBasedTrainLoop: one epoch)', 1)`` for an epoch
        count under an iteration-based loop, which counts one epoch.
    """
    if not isinstance(train_cfg, dict):
        return None
    loop = train_cfg.get('type')
    if loop is None and 'by_epoch' in train_cfg:
        loop = _EPOCH_LOOP if train_cfg['by_epoch'] else _ITER_LOOP
    if loop == _EPOCH_LOOP and by_epoch:
        key = 'max_epochs'
    elif loop == _ITER_LOOP and not by_epoch:
        key = 'max_iters'
    elif loop == _ITER_LOOP:
        return f'train_cfg ({_ITER_LOOP}, which counts one epoch)', 1
    else:
        return None  # max_epochs x the epoch length, or another loop
    value = train_cfg.get(key)
    if not is_number(value):
        return None
    return f'train_cfg.{key}', value


def check_param_scheduler(cfg: Config,
                          source: str,
                          options: Optional[dict] = None) -> None:
    """Refuse a ``param_scheduler`` entry whose ``end`` (given, or the
    training length the Runner gives it) is not after its ``begin``; warn
    of one whose given ``end`` is after the end of training, of a
    schedule that ends before training does and of a cosine that rises
    again (:mod:`mmadaptformer.utils.schedule_span`).

    Args:
        cfg (Config): The config, ``--cfg-options`` merged; one whose
            ``runner_type`` is not MMEngine's, or without ``train_cfg``,
            is not checked.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the entry, its type, ``begin`` and ``end``, the
            ``train_cfg`` value that gave ``end`` if it did, and what to
            change.
    """
    train_cfg = cfg.get('train_cfg')
    if not mmengine_runner(cfg) or not train_cfg:
        return
    use_default_scope(cfg)
    spans, unknown = [], set()
    for key, entry in scheduler_entries(cfg.get('param_scheduler')):
        # An argument the scheduler does not take (eta_minn) was the
        # TypeError of the Runner's build, after the work dir.
        check_arguments(
            key,
            entry,
            PARAM_SCHEDULERS,
            source,
            options,
            builder_keys=_BUILDER_KEYS)
        kind = entry.get('type')
        cls = registered(PARAM_SCHEDULERS, kind)
        if not (isinstance(cls, type) and issubclass(cls, _ParamScheduler)
                and cls.__module__.startswith('mmengine.')):
            unknown.add(optimizer_of(key))
            continue  # another scheduler may check otherwise
        begin = entry.get('begin', 0)
        by_epoch = bool(entry.get('by_epoch', True))
        length = loop_length(train_cfg, by_epoch)
        given = 'end' in entry
        end = entry['end'] if given else (length or (None, None))[1]
        if not (is_number(begin) and is_number(end)):
            unknown.add(optimizer_of(key))
            continue
        if end > begin:
            if given:
                _warn_if_past_training(key, getattr(cls, '__name__', kind),
                                       entry, length, source, options)
            spans.append(Span(key, cls, entry, begin, end, length))
            continue
        if entry.get('convert_to_iter_based') and end == INF and begin < INF:
            continue  # INF stays; begin grows with the epoch length
        raise ConfigError(
            _refusal(key, getattr(cls, '__name__', kind), begin, end, given,
                     length if length and length[1] == end else None,
                     unit_of(entry), source, options))
    for span in spans:
        warn_if_cosine_turns(span, source, options)
    warn_if_schedule_ends_early(
        [span for span in spans if optimizer_of(span.key) not in unknown],
        source, options, bool(cfg.get('resume')))


def _warn_if_past_training(key: str, name: str, entry: dict,
                           length: Optional[Tuple[str, int]], source: str,
                           options: Optional[dict]) -> None:
    """Warn if ``entry``'s given ``end`` is after ``length``, the end of
    training in ``entry``'s unit; None (unknown before the data is built)
    and MMEngine's ``INF`` (no end) are not compared."""
    end, by_epoch = entry['end'], bool(entry.get('by_epoch', True))
    if length is None or end >= INF or end <= length[1]:
        return
    if entry.get('convert_to_iter_based') and by_epoch and \
            length[0] != 'train_cfg.max_epochs':
        return  # epochs x an epoch length against max_iters: unknown here
    unit = unit_of(entry)
    where = option_place(f'{key}.end', options) or option_place(
        length[0], options) or source
    print_log(
        f'{where}: {key} ({name}) has end={end} ({unit}), but training '
        f'ends after {counted(length[1], unit)} ({length_text(length)}): '
        'the learning rate (or momentum) follows it only up to '
        f'{unit[:-1]} {length[1]} and never reaches its values from there '
        f'to {end}. Set {key}.end to at most {length[1]} for a schedule '
        'that completes, or train longer.',
        logger='current',
        level=logging.WARNING)


def _refusal(key: str, name: str, begin, end, given: bool,
             length: Optional[Tuple[str, int]], unit: str, source: str,
             options: Optional[dict]) -> str:
    """The error for ``key``, whose ``end`` (given or not, equal to the
    training length ``length`` or not) is not after its ``begin``."""
    keys = [f'{key}.end', f'{key}.begin'] if given else [f'{key}.begin']
    if length is not None:
        keys.insert(0, length[0])
    places = (option_place(k, options) for k in keys)
    where = next((place for place in places if place), source)
    refused = ('MMEngine would refuse it once training starts (end should '
               'be larger than begin)')
    if length is None:
        return (f'{where}: {key} ({name}) has begin={begin} and end={end} '
                f'({unit}); {refused}. Give {key}.end a value above '
                f'{begin}, or {key}.begin one below {end}.')
    ends = f'end={end}, the length of training' if given else \
        'no end, so it ends with training'
    return (f'{where}: {key} ({name}) has begin={begin} and {ends}: '
            f'{length[0]}={end} ({unit}); {refused}. For a run this short, '
            f'set {key}.begin below {end} (and its T_max, if any, to the '
            f'{unit} it spans) or remove {key}; or train longer than '
            f'{begin} {unit}.')
