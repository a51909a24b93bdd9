# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check the ``model.train_cfg`` and ``model.test_cfg`` that mmaction2's
recognizers read themselves.

mmaction2's ``BaseRecognizer`` takes any dict as ``train_cfg`` and
``test_cfg``; ``Recognizer2D`` and ``Recognizer3D`` read the keys they know
with ``self.test_cfg.get(...)`` when they test. A key they do not read was
ignored without a word:

- a misspelled one: ``max_testing_view=4`` ran every view of a video in
  one batch, ``fcn_tset=True`` averaged the scores as if the test were not
  fully convolutional;
- one that mmaction2 1.x moved: 0.x's ``test_cfg.average_clips`` is the
  head's ``cls_head.average_clips``, so a config that still sets it in
  ``test_cfg`` averaged the views' raw scores instead of, say, their
  softmax; 0.x's ``train_cfg.blending`` (mixup, cutmix) is
  ``data_preprocessor.blending``, so such a config trained without mixup.
  No 1.x recognizer reads ``train_cfg`` at all.

The keys are read from the installed recognizer's source, parsed
(:func:`~.source_reads.instance_key_reads`: ``self.test_cfg.get('KEY')``,
``.pop('KEY')``, ``.setdefault('KEY', v)``, ``self.test_cfg['KEY']``,
``'KEY' in self.test_cfg``), so they follow
mmaction2. A recognizer with a class of its own in its MRO (a user's
subclass, which may read more), or one that uses ``test_cfg`` otherwise
(passes it on whole, aliases it, iterates it), is not checked.

The head's ``average_clips`` is checked with them: mmaction2's heads take
any value and refuse one other than ``'score'``, ``'prob'`` or None only
when they average their first test views (``ValueError: probs is not
supported``), at the first validation, after a whole training epoch.
Inference refuses None as well (:func:`check_inference_cfg`): the head then
keeps one row of scores per test view, and an input gets no one label.
"""
import functools
import inspect
from typing import Dict, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.evaluator import DumpResults
from mmengine.registry import METRICS

from .config_error import ConfigError
from .config_place import mistake_place
from .metric_scorers import evaluator_metric_cfgs
from .preprocessor_check import check_shadowed_preprocessor
from .registry_names import (close_hint, lookup_type, registered,
                             use_default_scope)
from .source_reads import instance_key_reads

__all__ = [
    'check_recognizer_cfg', 'check_average_clips', 'check_inference_cfg',
    'check_evaluated_views', 'per_view_scores', 'recognizer_cfg_keys',
    'MOVED_KEYS', 'AVERAGE_CLIPS'
]

#: Keys mmaction2 0.x read from a recognizer's ``train_cfg``/``test_cfg``
#: that 1.x reads elsewhere, and where.
MOVED_KEYS = {
    ('test_cfg', 'average_clips'): 'model.cls_head.average_clips',
    ('train_cfg', 'blending'): 'model.data_preprocessor.blending',
}

#: The ``average_clips`` values mmaction2's ``BaseHead.average_clip``
#: takes.
AVERAGE_CLIPS = ('score', 'prob', None)

#: Where the classes that read no ``train_cfg``/``test_cfg`` key live,
#: below the recognizers.
_READERS_OF_NONE = ('torch.', 'mmengine.')


@functools.lru_cache(maxsize=None)
def recognizer_cfg_keys(cls: type) -> Optional[Dict[str, Tuple[str, ...]]]:
    """The ``train_cfg`` and ``test_cfg`` keys an mmaction2 recognizer
    reads, from the source of each class in its MRO.

    Args:
        cls (type): The recognizer class.

    Returns:
        dict | None: ``{'train_cfg': keys, 'test_cfg': keys}``, or None if
        they cannot be known: a class in the MRO is not mmaction2's (nor
        MMEngine's or PyTorch's), its source cannot be read, or it uses
        ``train_cfg``/``test_cfg`` in a way other than reading a named key
        (:func:`~.source_reads.instance_key_reads`).
    """
    keys = {'train_cfg': {}, 'test_cfg': {}}
    for klass in cls.__mro__:
        module = klass.__module__ or ''
        if klass is object or module.startswith(_READERS_OF_NONE):
            continue
        if not module.startswith('mmaction.models.recognizers.'):
            return None
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            return None
        reads = instance_key_reads(source, tuple(keys))
        if reads is None:
            return None
        for which, read in reads.items():
            keys[which].update(dict.fromkeys(read))
    return {which: tuple(read) for which, read in keys.items()}


def _averaging_head(cfg: Config) -> Optional[Tuple[dict, type]]:
    """The config's ``model.cls_head`` and its class, where the head
    averages its test views with mmaction2's ``BaseHead.average_clip``.

    The caller makes the mmaction scope the current one.

    Returns:
        tuple | None: ``(head config, head class)``; None for a head that
        averages its views its own way, or a type no registry holds.
    """
    head = cfg.model.get('cls_head')
    if not isinstance(head, dict):
        return None
    from mmaction.models.heads import BaseHead
    from mmaction.registry import MODELS
    cls = registered(MODELS, head.get('type'))
    if not isinstance(cls, type) or not issubclass(
            cls, BaseHead) or cls.average_clip is not BaseHead.average_clip:
        return None
    return head, cls


def _default_average_clips(cls: type) -> object:
    """The ``average_clips`` a head class takes when its config sets none:
    the default of the first ``__init__`` in its MRO that names it
    (``BaseHead``'s is None), or ``inspect.Parameter.empty``."""
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        try:
            param = inspect.signature(init).parameters.get('average_clips')
        except (TypeError, ValueError):
            continue
        if param is not None:
            return param.default
    return inspect.Parameter.empty


def check_average_clips(cfg: Config,
                        source: str,
                        options: Optional[dict] = None) -> None:
    """Refuse a ``model.cls_head.average_clips`` that the head's
    ``average_clip`` (mmaction2's ``BaseHead``'s) would refuse at the
    first test views it averages.

    A head that averages its views its own way is not checked. The caller
    makes the mmaction scope the current one.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the key (or the option that set it), the value
            and the values the head takes.
    """
    head = cfg.model.get('cls_head')
    if not isinstance(head,
                      dict) or head.get('average_clips') in AVERAGE_CLIPS:
        return
    found = _averaging_head(cfg)
    if found is None:
        return
    cls = found[1]
    value = head['average_clips']
    where = mistake_place(source, 'model.cls_head.average_clips', options)
    hint = close_hint(value, ['score', 'prob']) if isinstance(value,
                                                              str) else ''
    raise ConfigError(
        f'{where}: average_clips={value!r} is none of \'score\', \'prob\' '
        f'or None{hint}; mmaction2\'s {cls.__name__} would refuse it only '
        'when it averages its first test views, at the first validation '
        '(after a training epoch) or test.')


_KEY = 'model.cls_head.average_clips'
_AVERAGE = (f"Set {_KEY}='prob' (the mean of the views' softmax) or 'score' "
            '(the mean of their raw scores).')


def per_view_scores(cfg: Config, source: str,
                    options: Optional[dict]) -> Optional[str]:
    """The start of the error for a head that gives one row of scores per
    test view instead of one per input, or None.

    With ``average_clips=None`` (set, or the head's default where the config
    sets none: ``BaseHead``'s is None) mmaction2's heads keep the scores of
    every view, shape ``(views, num_classes)``.

    Returns:
        str | None: ``'WHERE: average_clips=None'`` (or that the key is not
        set and the head then takes None, ``'... which'``), to be followed
        by ``' keeps one row of class scores per test view'``.
    """
    if cfg.get('default_scope') != 'mmaction' or not isinstance(
            cfg.get('model'), dict):
        return None
    found = _averaging_head(cfg)
    if found is None:
        return None
    head, cls = found
    if 'average_clips' in head:
        if head['average_clips'] is not None:
            return None
        return f'{mistake_place(source, _KEY, options)}: average_clips=None'
    if _default_average_clips(cls) is not None:
        return None
    return (f'{source}: {_KEY} is not set, and {cls.__name__} then takes '
            'None, which')


def check_inference_cfg(cfg: Config,
                        source: str,
                        options: Optional[dict] = None) -> None:
    """:func:`check_recognizer_cfg`,
    :func:`~.preprocessor_check.check_shadowed_preprocessor`, and refuse a
    head that gives one row
    of scores per test view instead of one per input
    (:func:`per_view_scores`): an input then has no one label (the argmax
    of that matrix is a flat index, not a class).

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: As :func:`check_recognizer_cfg`, or naming
            ``model.cls_head.average_clips`` (or the option that set it)
            and the values that average the views.
    """
    check_recognizer_cfg(cfg, source, options)
    check_shadowed_preprocessor(cfg, source, options)
    said = per_view_scores(cfg, source, options)
    if said is not None:
        raise ConfigError(
            f'{said} keeps one row of class scores per test view, so an '
            f'input gets no one label; inference needs the views averaged. '
            f'{_AVERAGE}')


def check_evaluated_views(cfg: Config,
                          source: str,
                          evaluators: Sequence[str],
                          options: Optional[dict] = None) -> None:
    """Refuse per-view scores (:func:`per_view_scores`) where an evaluator
    that will run scores them with a metric: mmaction2's ``AccMetric``
    failed after the whole run (``operands could not be broadcast``) or,
    with ``topk=(1, )``, ranked the views instead of the classes. Only
    MMEngine's ``DumpResults`` and its subclasses (``AtomicDumpResults``, a
    user's), which save the scores as they are, take them: a metric is told
    by the class its ``type`` builds, looked up in the scope the Evaluator
    builds it in, not by its name (a name ending in ``DumpResults`` let a
    scorer through; a dump registered under another name was refused). A
    type no registry holds is left to the check that names it.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        evaluators (Sequence[str]): The evaluator keys that will run
            (``'val_evaluator'``, ``'test_evaluator'``).
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the key, the evaluator and its metric; or an
            evaluator ``type`` that no registry holds
            (:func:`~.metric_scorers.evaluator_metric_cfgs`).
    """
    said = per_view_scores(cfg, source, options)
    if said is None:
        return
    for key in evaluators:
        # None: an evaluator that is no Evaluator scores the views its
        # own way.
        for metric in evaluator_metric_cfgs(cfg, key, source, options) or ():
            if isinstance(metric, dict):
                kind = metric.get('type')
                cls = lookup_type(METRICS, kind, metric.get('_scope_')).cls
            else:
                cls = kind = type(metric)
            if not isinstance(cls, type) or issubclass(cls, DumpResults):
                continue
            name = kind if isinstance(kind, str) else cls.__name__
            raise ConfigError(
                f'{said} keeps one row of class scores per test view, '
                f'which {key}\'s {name} cannot score: mmaction2\'s '
                'metrics take one row per input (AccMetric fails after '
                'the whole run, or ranks the views instead of the '
                f'classes). {_AVERAGE}')


def check_recognizer_cfg(cfg: Config,
                         source: str,
                         options: Optional[dict] = None) -> None:
    """Refuse a ``model.train_cfg`` or ``model.test_cfg`` key that the
    config's mmaction2 recognizer does not read, and an ``average_clips``
    its head would refuse late (:func:`check_average_clips`).

    Only a config whose ``default_scope`` is ``mmaction`` is checked, and
    its keys only where the model type is a recognizer that
    :func:`recognizer_cfg_keys` can read. The config's scope becomes the
    current one, as the Runner makes it.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the key (or the option that set it), the
            closest key the recognizer reads, or where mmaction2 1.x reads
            a key that 0.x read there; or for the head's ``average_clips``
            (:func:`check_average_clips`).
    """
    model = cfg.get('model')
    if cfg.get('default_scope') != 'mmaction' or not isinstance(
            model, dict) or 'type' not in model:
        return
    from mmaction.registry import MODELS
    use_default_scope(cfg)
    check_average_clips(cfg, source, options)
    cls = registered(MODELS, model['type'])
    if not isinstance(cls, type):
        return  # a type no registry holds is named when it is built
    keys = recognizer_cfg_keys(cls)
    if keys is None:
        return
    for which, read in keys.items():
        given = model.get(which)
        if not isinstance(given, dict):
            continue
        for key in given:
            if key in read:
                continue
            where = mistake_place(source, f'model.{which}.{key}', options)
            moved = MOVED_KEYS.get((which, key))
            if moved:
                why = (f'; mmaction2 1.x reads it as {moved}, so here it '
                       'would be ignored without a word')
            else:
                why = (f'{close_hint(key, read)}; mmaction2\'s {cls.__name__}'
                       ' ignores a key it does not read without a word')
            reads = f'It reads: {", ".join(read)}.' if read else \
                f'It reads no {which} key.'
            raise ConfigError(f'{where}: {cls.__name__} does not read '
                              f'{which}.{key}{why}. {reads}')
