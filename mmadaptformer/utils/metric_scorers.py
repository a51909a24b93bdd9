# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The metrics of an evaluator config that a check may build and run on
made-up samples.

Checks made before a run (a metric's top-k against the head's classes, the
checkpoint hook's ``save_best`` against the validation's names) run the
config's metrics on two made-up samples. A metric can act on what it is
given beyond returning scores, and the made-up samples must not reach a
file: MMEngine's ``DumpResults`` wrote them over the file it names;
mmpretrain's ``ShapeBiasMetric`` deletes its csv file of the last run when
it is built; ``ReportVQA``, ``NocapsSave`` and mmaction2's ``ANetMetric``
write theirs when they compute; a user's metric, or a subclass of a
scorer, may do any of these. So only the classes of :data:`SCORERS` are
built; the others are only looked up in the registry.

Every place that reads an evaluator config's metrics (these checks,
``tools/test.py``'s ``--dump``) reads them with
:func:`evaluator_metric_cfgs`, which tells an ``Evaluator`` config by the
class its ``type`` builds, as the Runner will build it: a ``type`` compared
as a string missed ``'mmengine.Evaluator'``, whose metrics then went
unchecked, and ``--dump`` refused a valid ``type='Evaluator'`` config.
It gives each metric the scope the Evaluator builds it in: an evaluator's
``_scope_`` (``dict(type='Evaluator', _scope_='mmpretrain', ...)``) is the
default scope while it builds its metrics, and a lookup in the config's
scope instead missed mmpretrain's ``Accuracy`` under mmaction2's, so its
top-k and the ``save_best`` that named it went unchecked.
"""
import inspect
from typing import Any, List, NamedTuple, Optional, Sequence

from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import EVALUATOR, METRICS

from .config_error import ConfigError
from .config_place import mistake_place
from .registry_names import lookup_type, unregistered_type, use_default_scope

__all__ = [
    'SCORERS', 'NAMELESS', 'EvaluatorScorers', 'evaluator_metric_cfgs',
    'evaluator_scorers'
]

#: The metrics (``module.class``) whose building and scoring do nothing
#: but return scores (no file, no log line). mmpretrain's
#: ``MultiLabelMetric`` logs a WARNING when built without ``thr`` or
#: ``topk``; it is left out.
SCORERS = (
    'mmpretrain.evaluation.metrics.single_label.Accuracy',
    'mmpretrain.evaluation.metrics.single_label.SingleLabelMetric',
    'mmpretrain.evaluation.metrics.single_label.ConfusionMatrix',
    'mmpretrain.evaluation.metrics.multi_label.AveragePrecision',
    'mmaction.evaluation.metrics.acc_metric.AccMetric',
    'mmaction.evaluation.metrics.acc_metric.ConfusionMatrix',
)

#: Metrics that give no metric names (``compute_metrics`` returns ``{}``):
#: MMEngine's ``DumpResults`` only saves the predictions.
NAMELESS = ('mmengine.evaluator.metric.DumpResults', )


class EvaluatorScorers(NamedTuple):
    """The metrics of an evaluator config, sorted for checks.

    Attributes:
        scorers (list): The metrics of :data:`SCORERS`, built.
        others (list[str]): The ``type`` of each other metric, none of
            :data:`NAMELESS`; not built (or one that could not be looked up
            or built, left to the Runner, which names it).
    """
    scorers: List[Any]
    others: List[str]


def evaluator_metric_cfgs(cfg: Config,
                          key: str,
                          source: str,
                          options: Optional[dict] = None) -> Optional[List]:
    """The metric configs of the evaluator config ``cfg[key]``, as MMEngine's
    ``Runner.build_evaluator`` reads it. The config's ``default_scope``
    becomes the current one, as the Runner makes it.

    A list is a list of metrics; a dict without ``metrics`` is one metric; a
    dict with ``metrics`` is built from the ``EVALUATOR`` registry (``type``
    defaults to ``'Evaluator'``), and its ``metrics`` (one, or a list) are
    the metrics where its ``type`` builds MMEngine's ``Evaluator`` or a
    subclass: ``'Evaluator'``, ``'mmengine.Evaluator'``, the class itself, a
    subclass registered in the scope's registry. Such an evaluator's
    ``_scope_`` is the default scope while it builds its metrics
    (MMEngine's ``build_from_cfg``), so a metric config without a
    ``_scope_`` of its own is given that one (a copy; the config is left
    as it is): looked up or built from the list, it finds the class the
    Runner will build.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        key (str): The evaluator's key (``'val_evaluator'``,
            ``'test_evaluator'``).
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Returns:
        list | None: The metric configs (``[]`` for no evaluator), each
        with the ``_scope_`` it is built in where the evaluator sets one;
        None for an evaluator whose ``type`` builds a class that is no
        ``Evaluator``, which may use its ``metrics`` otherwise.

    Raises:
        ConfigError: If the evaluator's ``type`` is neither a class nor a
            name its registry holds, named as
            :func:`~.registry_names.unregistered_type` names it (the Runner
            would raise its ``KeyError`` only when it builds the loop).
    """
    use_default_scope(cfg)
    evaluator = cfg.get(key)
    if evaluator is None:
        return []
    if not isinstance(evaluator, dict):
        return list(evaluator) if isinstance(evaluator,
                                             (list, tuple)) else [evaluator]
    if 'metrics' not in evaluator:
        return [evaluator]
    kind = evaluator.get('type', 'Evaluator')
    scope = evaluator.get('_scope_')
    found = lookup_type(EVALUATOR, kind, scope)
    cls = found.cls
    if cls is None and isinstance(kind, str):
        raise unregistered_type(kind, found.scope, found.registry, cfg,
                                source, options) or \
            ConfigError(f'{mistake_place(source, f"{key}.type", options)}='
                        f'{kind!r} is not in the {found.scope}::'
                        f'{found.registry} registry.')
    if not inspect.isclass(cls):
        where = mistake_place(source, f'{key}.type', options, kind)
        raise ConfigError(
            f'{where}: an evaluator\'s type is the name of a registered '
            'evaluator class (such as \'Evaluator\') or the class itself.')
    if not issubclass(cls, Evaluator):
        return None
    metrics = evaluator['metrics']
    # As Evaluator.__init__ reads them.
    metrics = list(metrics) if isinstance(metrics, Sequence) else [metrics]
    if scope is None:
        return metrics
    return [
        dict(metric, _scope_=scope)
        if isinstance(metric, dict) and '_scope_' not in metric else metric
        for metric in metrics
    ]


def evaluator_scorers(metrics: Optional[Sequence]) -> EvaluatorScorers:
    """Build the metrics of ``metrics`` (configs, in the current scope)
    whose class is one of :data:`SCORERS`; only look the others up.

    Args:
        metrics (Sequence | None): The metric configs of an evaluator
            (:func:`evaluator_metric_cfgs`); None for an evaluator whose
            metrics are not known, which then has one of ``others``.

    Returns:
        EvaluatorScorers: The scorers, built, and the other metrics' types.
    """
    if metrics is None:
        return EvaluatorScorers([], ['an evaluator that is no Evaluator'])
    scorers, others = [], []
    for metric in metrics:
        if not isinstance(metric, dict):
            others.append(repr(metric))
            continue
        kind = metric.get('type')
        try:
            cls = lookup_type(METRICS, kind, metric.get('_scope_')).cls
        except Exception:  # noqa: B902 -- left to the Runner, which names it
            cls = None
        name = f'{cls.__module__}.{cls.__qualname__}' if isinstance(
            cls, type) else None
        if name in NAMELESS:
            continue
        if name not in SCORERS:
            others.append(str(kind))
            continue
        arguments = {
            k: v
            for k, v in metric.items() if k not in ('type', '_scope_')
        }
        try:
            scorers.append(cls(**arguments))
        except Exception:  # noqa: B902 -- left to the Runner, which names it
            others.append(str(kind))
    return EvaluatorScorers(scorers, others)
