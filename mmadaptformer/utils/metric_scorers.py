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
"""
from typing import Any, List, NamedTuple

from mmengine.registry import METRICS

__all__ = ['SCORERS', 'NAMELESS', 'EvaluatorScorers', 'evaluator_scorers']

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


def _metric_cfgs(evaluator: Any) -> List[Any]:
    """The metric configs of an evaluator config, as MMEngine's Runner
    reads it: a metric, a list of them, or an ``Evaluator`` config of
    ``metrics``."""
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        if evaluator.get('type', 'Evaluator') != 'Evaluator':
            # Another evaluator type may use its metrics otherwise.
            return [evaluator]
        evaluator = evaluator['metrics']
    metrics = [evaluator] if isinstance(evaluator, dict) else evaluator
    if not isinstance(metrics, (list, tuple)):
        return [evaluator]
    return list(metrics)


def evaluator_scorers(evaluator: Any) -> EvaluatorScorers:
    """Build the metrics of ``evaluator`` (a config, in the current scope)
    whose class is one of :data:`SCORERS`; only look the others up.

    Args:
        evaluator (dict | list): An evaluator config (``val_evaluator``,
            ``test_evaluator``).

    Returns:
        EvaluatorScorers: The scorers, built, and the other metrics' types.
    """
    scorers, others = [], []
    for metric in _metric_cfgs(evaluator):
        if not isinstance(metric, dict):
            others.append(repr(metric))
            continue
        kind = metric.get('type')
        try:
            with METRICS.switch_scope_and_registry(
                    metric.get('_scope_')) as registry:
                cls = registry.get(kind) if isinstance(kind, str) else kind
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
