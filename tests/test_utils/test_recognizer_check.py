# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The ``model.train_cfg``/``model.test_cfg`` keys that mmaction2's
recognizers would ignore without a word are refused; the keys they read
come from their installed source."""
import pytest
import torch
from helpers import TINY_VIDEO_CONFIG
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.recognizer_check import (check_recognizer_cfg,
                                                  recognizer_cfg_keys)


@pytest.fixture
def mmaction_scope():
    init_default_scope('mmaction')


def _views_per_backbone_call(test_cfg: dict) -> list:
    """The tiny recognizer tests one video of 6 views; how many views each
    backbone call gets."""
    from mmaction.registry import MODELS
    model_cfg = Config.fromfile(TINY_VIDEO_CONFIG).model
    model_cfg.test_cfg = test_cfg
    model = MODELS.build(model_cfg).eval()
    calls = []
    model.backbone.register_forward_hook(
        lambda module, args, out: calls.append(args[0].shape[0]))
    with torch.no_grad():
        model.extract_feat(torch.rand(1, 6, 3, 4, 32, 32), test_mode=True)
    return calls


def test_the_premise_a_misspelled_key_is_ignored(mmaction_scope):
    """``max_testing_views=2`` tests 6 views in 3 batches of 2; the
    misspelled ``max_testing_view=2`` is taken without a word and tests
    them in one batch of 6."""
    assert _views_per_backbone_call(dict(max_testing_views=2)) == [2, 2, 2]
    assert _views_per_backbone_call(dict(max_testing_view=2)) == [6]


def test_the_keys_come_from_the_installed_recognizers(mmaction_scope):
    from mmaction.models import Recognizer2D, Recognizer3D, RecognizerGCN
    assert recognizer_cfg_keys(Recognizer3D) == {
        'train_cfg': (),
        'test_cfg': ('fcn_test', 'max_testing_views')
    }
    assert recognizer_cfg_keys(Recognizer2D) == {
        'train_cfg': (),
        'test_cfg': ('fcn_test', 'num_segs', 'max_testing_views')
    }
    assert recognizer_cfg_keys(RecognizerGCN) == {
        'train_cfg': (),
        'test_cfg': ()
    }

    class Mine(Recognizer3D):  # may read more keys: not checked
        pass

    assert recognizer_cfg_keys(Mine) is None


def _cfg(**model):
    return Config(
        dict(
            default_scope='mmaction', model=dict(type='Recognizer3D',
                                                 **model)))


@pytest.mark.parametrize('model, line', [
    (dict(test_cfg=dict(max_testing_view=2)),
     'c.py: model.test_cfg.max_testing_view: Recognizer3D does not read '
     "test_cfg.max_testing_view (did you mean 'max_testing_views'?); "
     "mmaction2's Recognizer3D ignores a key it does not read without a "
     'word. It reads: fcn_test, max_testing_views.'),
    (dict(test_cfg=dict(average_clips='prob')),
     'c.py: model.test_cfg.average_clips: Recognizer3D does not read '
     'test_cfg.average_clips; mmaction2 1.x reads it as '
     'model.cls_head.average_clips, so here it would be ignored without a '
     'word. It reads: fcn_test, max_testing_views.'),
    (dict(train_cfg=dict(blending=dict(type='MixupBlending'))),
     'c.py: model.train_cfg.blending: Recognizer3D does not read '
     'train_cfg.blending; mmaction2 1.x reads it as '
     'model.data_preprocessor.blending, so here it would be ignored without '
     'a word. It reads no train_cfg key.'),
])
def test_a_key_the_recognizer_does_not_read_is_named(mmaction_scope, model,
                                                     line):
    with pytest.raises(ConfigError) as e:
        check_recognizer_cfg(_cfg(**model), 'c.py')
    assert str(e.value) == line


def test_the_option_that_set_the_key_is_named(mmaction_scope):
    cfg = _cfg(test_cfg=dict(fcn_tset=True))
    with pytest.raises(
            ConfigError,
            match=r'^--cfg-options model\.test_cfg\.fcn_tset=True: '
            r'Recognizer3D does not read test_cfg\.fcn_tset '
            r"\(did you mean 'fcn_test'\?\)"):
        check_recognizer_cfg(cfg, 'c.py', {'model.test_cfg.fcn_tset': True})


def test_what_is_not_checked(mmaction_scope):
    from mmaction.models import Recognizer3D
    from mmaction.registry import MODELS

    # The keys the recognizer reads, and no train_cfg/test_cfg at all.
    check_recognizer_cfg(
        _cfg(test_cfg=dict(fcn_test=True, max_testing_views=4)), 'c.py')
    check_recognizer_cfg(_cfg(train_cfg=None, test_cfg=None), 'c.py')
    check_recognizer_cfg(_cfg(), 'c.py')
    # Another toolbox, and a type no registry holds (named when built).
    cfg = _cfg(test_cfg=dict(max_testing_view=2))
    cfg.default_scope = 'mmpretrain'
    check_recognizer_cfg(cfg, 'c.py')
    check_recognizer_cfg(
        Config(
            dict(
                default_scope='mmaction',
                model=dict(type='Recognizer3d', test_cfg=dict(x=1)))), 'c.py')

    # A user's subclass, which may read keys of its own.
    @MODELS.register_module(force=True)
    class RecognizerReadingMore(Recognizer3D):
        pass

    try:
        check_recognizer_cfg(
            Config(
                dict(
                    default_scope='mmaction',
                    model=dict(
                        type='RecognizerReadingMore',
                        test_cfg=dict(my_key=1)))), 'c.py')
    finally:
        MODELS.module_dict.pop('RecognizerReadingMore')


def test_an_average_clips_the_head_would_refuse_late_is_named(mmaction_scope):
    """The premise: mmaction2's heads take ``average_clips='probs'`` and
    refuse it only when they average test views, at the first validation;
    the check names it before anything is built."""
    from mmaction.models.heads import TimeSformerHead
    head = TimeSformerHead(num_classes=2, in_channels=8, average_clips='probs')
    with pytest.raises(ValueError, match='probs is not supported'):
        head.average_clip(torch.rand(2, 2), num_segs=1)
    for value in ('score', 'prob', None):
        TimeSformerHead(
            num_classes=2, in_channels=8, average_clips=value).average_clip(
                torch.rand(2, 2), num_segs=1)
        check_recognizer_cfg(
            _cfg(cls_head=dict(type='TimeSformerHead', average_clips=value)),
            'c.py')
    with pytest.raises(ConfigError) as e:
        check_recognizer_cfg(
            _cfg(cls_head=dict(type='BNLinearHead', average_clips='probs')),
            'c.py', {'model.cls_head.average_clips': 'probs'})
    assert str(e.value) == (
        "--cfg-options model.cls_head.average_clips='probs': "
        "average_clips='probs' is none of 'score', 'prob' or None (did you "
        "mean 'prob'?); mmaction2's BNLinearHead would refuse it only when "
        'it averages its first test views, at the first validation (after a '
        'training epoch) or test.')

    # A head that averages its own way is not checked.
    from mmaction.registry import MODELS

    @MODELS.register_module(force=True)
    class HeadAveragingItsOwnWay(TimeSformerHead):

        def average_clip(self, cls_scores, num_segs=1):
            return cls_scores

    try:
        check_recognizer_cfg(
            _cfg(
                cls_head=dict(
                    type='HeadAveragingItsOwnWay', average_clips='median')),
            'c.py')
    finally:
        MODELS.module_dict.pop('HeadAveragingItsOwnWay')


def test_inference_refuses_per_view_scores_that_test_py_takes(mmaction_scope):
    """The premise: with ``average_clips=None`` (TimeSformerHead's default)
    the head keeps a row per view. Inference refuses it, naming the option
    that set it; what train.py and test.py check (``--dump`` saves such
    scores) still takes it."""
    from mmaction.models.heads import TimeSformerHead

    from mmadaptformer.utils.recognizer_check import check_inference_cfg
    head = TimeSformerHead(num_classes=2, in_channels=8)
    assert head.average_clip(torch.rand(6, 2), num_segs=6).shape == (1, 6, 2)
    key = 'model.cls_head.average_clips'
    none = _cfg(cls_head=dict(type='TimeSformerHead', average_clips=None))
    unset = _cfg(cls_head=dict(type='TimeSformerHead'))
    for cfg in (none, unset):
        check_recognizer_cfg(cfg, 'c.py')
    with pytest.raises(ConfigError) as e:
        check_inference_cfg(none, 'c.py', {key: None})
    assert str(e.value).startswith(
        f'--cfg-options {key}=None: average_clips=None keeps one row of '
        'class scores per test view')
    with pytest.raises(ConfigError) as e:
        check_inference_cfg(unset, 'c.py')
    assert str(e.value).startswith(
        f'c.py: {key} is not set, and TimeSformerHead then takes None, which '
        'keeps one row')
    for value in ('prob', 'score'):
        check_inference_cfg(
            _cfg(cls_head=dict(type='TimeSformerHead', average_clips=value)),
            'c.py')
    # GCNHead's own default is 'prob'.
    check_inference_cfg(_cfg(cls_head=dict(type='GCNHead')), 'c.py')


def test_train_and_test_refuse_per_view_scores_a_metric_would_score(
        mmaction_scope):
    """The premise: mmaction2's AccMetric on per-view scores (8 inputs of 6
    views) fails only after the whole test has run. train.py and test.py
    refuse such a head up front when an evaluator they run has a metric;
    DumpResults alone saves the scores as they are."""
    from mmaction.evaluation import AccMetric

    from mmadaptformer.utils.recognizer_check import check_evaluated_views
    metric = AccMetric()
    results = [
        dict(pred=torch.rand(6, 2).numpy(), label=torch.tensor([i % 2]))
        for i in range(8)
    ]
    with pytest.raises(ValueError):
        metric.compute_metrics(results)
    key = 'model.cls_head.average_clips'
    none = _cfg(cls_head=dict(type='TimeSformerHead', average_clips=None))
    none.test_evaluator = [
        dict(type='DumpResults', out_file_path='r.pkl'),
        dict(type='AccMetric')
    ]
    none.val_evaluator = dict(type='DumpResults', out_file_path='r.pkl')
    check_evaluated_views(none, 'c.py', ['val_evaluator'])
    check_evaluated_views(none, 'c.py', [])
    with pytest.raises(ConfigError) as e:
        check_evaluated_views(none, 'c.py', ['test_evaluator'], {key: None})
    assert str(e.value) == (
        f'--cfg-options {key}=None: average_clips=None keeps one row of class '
        "scores per test view, which test_evaluator's AccMetric cannot "
        "score: mmaction2's metrics take one row per input (AccMetric fails "
        'after the whole run, or ranks the views instead of the classes). '
        f"Set {key}='prob' (the mean of the views' softmax) or 'score' (the "
        'mean of their raw scores).')
    averaged = _cfg(
        cls_head=dict(type='TimeSformerHead', average_clips='prob'))
    averaged.test_evaluator = dict(type='AccMetric')
    check_evaluated_views(averaged, 'c.py', ['test_evaluator'])
