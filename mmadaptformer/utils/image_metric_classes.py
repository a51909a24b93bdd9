# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check the evaluators' metrics against the head's number of classes,
before anything runs.

mmpretrain's ``Accuracy`` refuses a top-k larger than the number of
classes (``ValueError: Top-5 accuracy is unavailable since the number of
categories is 3``) only when it computes, at the end of the first
validation or of the whole test. Every ImageNet config of mmpretrain asks
for ``topk=(1, 5)``, so a config derived from one for a task of fewer than
five classes trained a whole epoch, then ended with that traceback.
:func:`check_metric_classes` runs each metric on two made-up samples with
the head's number of classes and, where only that number makes it fail,
names the evaluator's key and the metric's own error.

Only the metrics of :data:`~.metric_scorers.SCORERS` are built and run so
(see :mod:`.metric_scorers`): the made-up samples must not reach a file.
"""
from typing import Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from .config_error import ConfigError
from .config_place import mistake_place
from .metric_scorers import evaluator_metric_cfgs, evaluator_scorers
from .model_keys import HEAD_NAMES
from .video_containers import one_line_error

__all__ = ['check_metric_classes', 'head_num_classes']

#: Classes of the made-up scores a metric must take: more than any top-k.
_MANY = 1000


def head_num_classes(cfg: Config) -> Optional[Tuple[str, int]]:
    """The key and value of the config head's ``num_classes``
    (``model.head`` or ``model.cls_head``), if it sets an int."""
    model = cfg.get('model') or {}
    for name in HEAD_NAMES:
        head = model.get(name) if isinstance(model, dict) else None
        num_classes = head.get('num_classes') if isinstance(head,
                                                            dict) else None
        if isinstance(num_classes, int) and not isinstance(num_classes, bool):
            return f'model.{name}.num_classes', num_classes
    return None


def _fails(metric, num_classes: int) -> Optional[Exception]:
    """What ``metric`` raises on two made-up single-label samples of
    ``num_classes`` scores, if anything."""
    sample = dict(
        pred_score=torch.linspace(1, 0, num_classes),
        pred_label=torch.tensor([0]),
        gt_label=torch.tensor([0]))
    metric.results.clear()
    try:
        metric.process({}, [sample, dict(sample)])
        metric.compute_metrics(metric.results)
    except Exception as e:  # noqa: B902 -- any of them is the metric's
        return e
    finally:
        metric.results.clear()
    return None


def check_metric_classes(cfg: Config,
                         source: str,
                         evaluators: Sequence[str],
                         options: Optional[dict] = None) -> None:
    """Refuse a metric that cannot score the head's number of classes.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        evaluators (Sequence[str]): The evaluator keys that will run
            (``'val_evaluator'``, ``'test_evaluator'``).
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the evaluator's key (or the option that set
            it), the metric, the head's ``num_classes`` and the metric's
            error; or an evaluator ``type`` that no registry holds
            (:func:`~.metric_scorers.evaluator_metric_cfgs`). A metric not
            of :data:`~.metric_scorers.SCORERS`, one that cannot be built,
            or one that fails on the made-up samples with many classes too
            (another kind of task), is left to the Runner.
    """
    head = head_num_classes(cfg)
    if head is None or head[1] < 1:
        return
    head_key, num_classes = head
    for key in evaluators:
        metrics = evaluator_metric_cfgs(cfg, key, source, options)
        for metric in evaluator_scorers(metrics).scorers:
            error = _fails(metric, num_classes)
            if error is None or _fails(metric, _MANY) is not None:
                continue
            when = 'after a training epoch, at the first validation' if \
                key == 'val_evaluator' else 'after the whole test'
            why = one_line_error(error).rstrip('.')
            raise ConfigError(
                f'{mistake_place(source, key, options)}: '
                f'{type(metric).__name__} cannot score the {num_classes} '
                f'classes of {head_key}={num_classes}: {why}. The run would '
                f'stop on it only {when}. Ask the metric for what '
                f'{num_classes} classes allow (e.g. its topk), in every '
                'evaluator that copies it.')
