# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Per-view scores go to a metric only where it saves them as they are:
``check_evaluated_views`` tells such a metric by the class its ``type``
builds (MMEngine's ``DumpResults`` or a subclass), as the Evaluator will
build it, not by the last part of its name.

Before, a user's ``DumpResults`` subclass registered under a name of its
own was refused, and a scorer given as a class (``type=AccMetric``) was let
through, to fail after the whole run."""
import pytest
from mmaction.evaluation import AccMetric
from mmengine.config import Config
from mmengine.evaluator import DumpResults
from mmengine.registry import METRICS

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.recognizer_check import check_evaluated_views


# A private name (a leading _): not offered as a close name elsewhere.
@METRICS.register_module(name='_PredictionDumpD', force=True)
class PredictionDumpD(DumpResults):
    """A user's dump of the predictions, under a name of its own."""


def _per_view(test_evaluator) -> Config:
    """A recognizer whose head keeps one row of scores per test view."""
    return Config(
        dict(
            default_scope='mmaction',
            model=dict(
                type='Recognizer3D',
                cls_head=dict(type='TimeSformerHead', average_clips=None)),
            test_evaluator=test_evaluator))


@pytest.mark.parametrize('metrics', [
    dict(type='_PredictionDumpD', out_file_path='r.pkl'),
    dict(type=PredictionDumpD, out_file_path='r.pkl'),
    [dict(type='mmengine.DumpResults', out_file_path='r.pkl')],
    dict(
        type='Evaluator',
        _scope_='mmpretrain',
        metrics=[dict(type='AtomicDumpResults', out_file_path='r.pkl')]),
])
def test_a_dump_by_its_class_takes_per_view_scores(metrics):
    check_evaluated_views(_per_view(metrics), 'c.py', ['test_evaluator'])


@pytest.mark.parametrize('metrics, name', [
    (dict(type=AccMetric), 'AccMetric'),
    (dict(
        type='Evaluator',
        _scope_='mmpretrain',
        metrics=[dict(type='Accuracy')]), 'Accuracy'),
])
def test_a_scorer_by_its_class_is_refused(metrics, name):
    with pytest.raises(ConfigError) as e:
        check_evaluated_views(_per_view(metrics), 'c.py', ['test_evaluator'])
    assert str(e.value).startswith(
        'c.py: model.cls_head.average_clips: average_clips=None keeps one '
        "row of class scores per test view, which test_evaluator's "
        f'{name} cannot score'), str(e.value)
