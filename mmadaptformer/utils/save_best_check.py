# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check the checkpoint hook's ``save_best`` against the metrics the
validation gives, before training starts.

MMEngine's ``CheckpointHook`` looks ``save_best`` up in the validation's
metrics only after the first validation (``metrics[key_indicator]``): a
name that the evaluator does not give (``acc/top_1`` for mmaction2's
``acc/top1``, or mmpretrain's ``accuracy/top1`` on a video config) ended
the run with a ``KeyError`` after a whole training epoch.
:func:`check_save_best` finds the names the validation gives by running
each metric of ``val_evaluator`` on two made-up samples (a score per
class and a label), as MMEngine's ``Evaluator`` names them
(``prefix/name``), and names a ``save_best`` that is not among them. Only
the metrics of :data:`~.metric_scorers.SCORERS` are built and run so (see
:mod:`.metric_scorers`): ``DumpResults`` beside ``Accuracy`` wrote the
made-up predictions over its ``out_file_path``. With another metric in
the evaluator, a ``save_best`` that no scorer gives may be that metric's,
and is left to the Runner.
"""
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config

from .config_error import ConfigError
from .config_place import mistake_place
from .metric_scorers import evaluator_metric_cfgs, evaluator_scorers
from .registry_names import close_hint

__all__ = ['check_save_best', 'validation_metric_names']

#: Classes of the made-up scores: more than any top-k a metric asks for.
_CLASSES = 1000


def validation_metric_names(
        metrics: Optional[Sequence]) -> Optional[List[str]]:
    """The names that the metrics of ``val_evaluator`` give, ``prefix/name``
    as MMEngine's ``Evaluator`` logs them, in the current scope.

    Each metric of :data:`~.metric_scorers.SCORERS` is run on two made-up
    single-label samples (``pred_score``, ``pred_label``, ``gt_label``).
    Its names depend on its settings (top-k, the metric list), not on the
    data. ``DumpResults`` gives none.

    Args:
        metrics (Sequence | None): The metric configs of ``val_evaluator``
            (:func:`~.metric_scorers.evaluator_metric_cfgs`); None for an
            evaluator whose metrics are not known.

    Returns:
        list[str] | None: The names; None if they cannot all be known: the
        metrics are not known, a metric is not one of the scorers (it is
        never built here: it may write files), or cannot be looked up or
        built (the Runner names that itself).
    """
    found = evaluator_scorers(metrics)
    if found.others:
        return None
    names = []
    for metric in found.scorers:
        sample = dict(
            pred_score=torch.linspace(1, 0, _CLASSES),
            pred_label=torch.tensor([0]),
            gt_label=torch.tensor([0]))
        try:
            metric.process({}, [sample, dict(sample)])
            computed = metric.compute_metrics(metric.results)
        except Exception:  # noqa: B902 -- samples of another kind
            return None
        if not isinstance(computed, dict):
            return None
        names += [
            f'{metric.prefix}/{name}' if metric.prefix else name
            for name in computed
        ]
    return names


def check_save_best(cfg: Config,
                    source: str,
                    options: Optional[dict] = None) -> None:
    """Refuse a ``default_hooks.checkpoint.save_best`` that the validation
    does not give.

    Args:
        cfg (Config): The training config, ``--cfg-options`` merged; one
            that does not validate (``val_cfg`` None), has no
            ``val_evaluator`` or no ``save_best`` (or ``'auto'``, which
            takes the first metric) is not checked.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the key (or the option that set it), the
            closest metric names and those the validation gives; or a
            ``val_evaluator`` ``type`` that no registry holds
            (:func:`~.metric_scorers.evaluator_metric_cfgs`).
    """
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    save_best = hook.get('save_best') if isinstance(hook, dict) else None
    if cfg.get('val_cfg') is None or cfg.get('val_evaluator') is None or \
            save_best is None:
        return
    keys = [save_best] if isinstance(save_best, str) else list(save_best)
    keys = [key for key in keys if key != 'auto']
    if not keys:
        return
    names = validation_metric_names(
        evaluator_metric_cfgs(cfg, 'val_evaluator', source, options))
    if names is None:
        return
    for key in keys:
        if key in names:
            continue
        where = mistake_place(source, 'default_hooks.checkpoint.save_best',
                              options)
        raise ConfigError(
            f'{where}: save_best={key!r} is no metric the validation gives'
            f'{close_hint(str(key), names)}; MMEngine\'s CheckpointHook '
            'would fail on it (KeyError) at the first validation, after '
            f'training. The validation gives: {", ".join(names)}.')
