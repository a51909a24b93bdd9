# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An evaluator config is told by the class its ``type`` builds, as
MMEngine's Runner builds it, in every place that reads its metrics
(:func:`~mmadaptformer.utils.metric_scorers.evaluator_metric_cfgs`).

Before, each place compared the ``type`` as a string, or not at all:
``type='mmengine.Evaluator'`` (or the class, or a registered subclass) made
the checks skip its metrics, so mmpretrain's top-5 accuracy on two classes
ran a whole test first; ``--dump`` put a ``type='Evaluator'`` config in a
list of metrics, which the Runner then looked up as a metric."""
import pytest
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmpretrain.registry import EVALUATORS as PRETRAIN_EVALUATORS
from repo_paths import TINY_IMAGE_CONFIG

from mmadaptformer.engine.testing_config import add_dump_metrics
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.image_metric_classes import check_metric_classes
from mmadaptformer.utils.metric_scorers import evaluator_metric_cfgs


# Private names (a leading _): not offered as close names in the other
# tests' messages.
@PRETRAIN_EVALUATORS.register_module(name='_SubEvaluatorB3', force=True)
class SubEvaluatorB3(Evaluator):
    """A user's Evaluator, registered in mmpretrain's registry."""


@PRETRAIN_EVALUATORS.register_module(name='_OwnEvaluatorB3', force=True)
class OwnEvaluatorB3:
    """An evaluator class of the registry that is no Evaluator: what it does
    with its ``metrics`` is its own."""

    def __init__(self, metrics):
        self.metrics = metrics


_TOP5 = dict(type='Accuracy', topk=(1, 5))
_TOP1 = dict(type='Accuracy', topk=(1, ))
_EVALUATOR_TYPES = [
    'Evaluator', 'mmengine.Evaluator', Evaluator, '_SubEvaluatorB3',
    'mmpretrain._SubEvaluatorB3', None
]


def _config(test_evaluator) -> Config:
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.test_evaluator = test_evaluator
    return cfg


def _evaluator(kind, metrics) -> dict:
    evaluator = dict(metrics=metrics)
    if kind is not None:
        evaluator['type'] = kind
    return evaluator


@pytest.mark.parametrize('kind', _EVALUATOR_TYPES)
def test_an_evaluator_is_told_by_the_class_its_type_builds(kind):
    """``'mmengine.Evaluator'``, the class itself and a subclass got no
    check of their metrics: mmpretrain's Accuracy with topk=(1, 5) on the
    tiny config's 2 classes passed, to fail after the whole test."""
    for metrics in ([_TOP5], _TOP5):
        cfg = _config(_evaluator(kind, metrics))
        assert evaluator_metric_cfgs(cfg, 'test_evaluator', 'c.py') == [_TOP5]
        with pytest.raises(ConfigError) as error:
            check_metric_classes(cfg, 'c.py', ['test_evaluator'])
        assert str(error.value).startswith(
            'c.py: test_evaluator: Accuracy cannot score the 2 classes of '
            'model.head.num_classes=2: ValueError: Top-5 accuracy is '
            'unavailable'), error.value


def test_metrics_without_an_evaluator_config():
    """Kept: a metric, a list of them, and no evaluator."""
    assert evaluator_metric_cfgs(_config(_TOP5), 'test_evaluator',
                                 'c.py') == [_TOP5]
    assert evaluator_metric_cfgs(
        _config([_TOP5, _TOP1]), 'test_evaluator', 'c.py') == [_TOP5, _TOP1]
    assert evaluator_metric_cfgs(_config(None), 'test_evaluator', 'c.py') == []


def test_an_evaluator_class_that_is_no_evaluator_has_unknown_metrics():
    """Its metrics are its own: not checked, and --dump cannot join them."""
    cfg = _config(_evaluator('_OwnEvaluatorB3', [_TOP5]))
    assert evaluator_metric_cfgs(cfg, 'test_evaluator', 'c.py') is None
    check_metric_classes(cfg, 'c.py', ['test_evaluator'])
    with pytest.raises(ConfigError) as error:
        add_dump_metrics(cfg, ['p.pkl'], 'c.py')
    assert str(error.value).startswith(
        "c.py: test_evaluator.type = '_OwnEvaluatorB3' builds no MMEngine "
        'Evaluator, so --dump and --out (the predictions) have no list of '
        'metrics to add their AtomicDumpResults to.'), error.value


def test_an_evaluator_type_no_registry_holds_is_named():
    """Not a silent skip of the checks (before: the metrics went unchecked,
    and the Runner named the type only when it built the test loop, after
    the work dir was made)."""
    cfg = _config(_evaluator('Evaluatr', [_TOP5]))
    with pytest.raises(ConfigError) as error:
        check_metric_classes(cfg, 'c.py', ['test_evaluator'])
    assert str(error.value) == (
        "c.py: test_evaluator.type='Evaluatr' is not in the "
        "mmpretrain::evaluator registry; did you mean 'Evaluator'? Check the "
        'spelling, or import the module that registers it (custom_imports).')
    option = {'test_evaluator.type': 'Evaluatr'}
    with pytest.raises(
            ConfigError,
            match=r'^--cfg-options test_evaluator\.'
            r"type='Evaluatr' is not in the mmpretrain::evaluator"):
        check_metric_classes(cfg, 'c.py', ['test_evaluator'], option)
    with pytest.raises(
            ConfigError,
            match=r'^c\.py: test_evaluator\.type = 3:'
            r" an evaluator's type is the name of a registered "):
        evaluator_metric_cfgs(
            _config(_evaluator(3, [_TOP5])), 'test_evaluator', 'c.py')


@pytest.mark.parametrize('kind', _EVALUATOR_TYPES)
def test_dumps_join_the_evaluator_metrics(kind):
    """``tools/test.py --dump`` on a ``type='Evaluator'`` config was refused
    with "test_evaluator[0].type='Evaluator' is not in the mmpretrain::metric
    registry": the Evaluator config was put in a list of metrics."""
    dumps = [
        dict(type='AtomicDumpResults', out_file_path='a.pkl'),
        dict(type='AtomicDumpResults', out_file_path='b.pkl')
    ]
    for metrics in ([_TOP1], _TOP1):
        cfg = _config(_evaluator(kind, metrics))
        add_dump_metrics(cfg, ['a.pkl', 'b.pkl'])
        assert cfg.test_evaluator == _evaluator(kind, [_TOP1] + dumps)
    cfg = _config([_TOP1])
    add_dump_metrics(cfg, ['a.pkl', 'b.pkl'])
    assert cfg.test_evaluator == [_TOP1] + dumps
