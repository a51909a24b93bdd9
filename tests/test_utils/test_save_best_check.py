# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``save_best`` that the validation does not give is named before
training; the names come from running the config's own metrics."""
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.save_best_check import (check_save_best,
                                                 validation_metric_names)


def test_the_names_are_the_ones_the_evaluator_logs():
    init_default_scope('mmaction')
    assert sorted(validation_metric_names(
        [dict(type='AccMetric')])) == ['acc/mean1', 'acc/top1', 'acc/top5']
    init_default_scope('mmpretrain')
    assert validation_metric_names([
        dict(type='Accuracy', topk=(1, 5)),
        dict(type='SingleLabelMetric', items=('precision', ))
    ]) == ['accuracy/top1', 'accuracy/top5', 'single-label/precision']
    # Metrics that cannot take single-label samples: not known.
    init_default_scope('mmaction')
    recall = dict(type='RetrievalRecall', topk=(1, 5))
    assert validation_metric_names([recall]) is None
    assert validation_metric_names([dict(type='NoSuchMetric')]) is None
    # An evaluator whose metrics are not known.
    assert validation_metric_names(None) is None


def _cfg(save_best, **extra):
    cfg = dict(
        default_scope='mmaction',
        val_cfg=dict(type='ValLoop'),
        val_evaluator=dict(type='AccMetric'),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', save_best=save_best)))
    cfg.update(extra)
    return Config(cfg)


def test_a_save_best_the_validation_does_not_give_is_named():
    with pytest.raises(ConfigError) as e:
        check_save_best(_cfg('acc/top_1'), 'c.py')
    assert str(e.value) == (
        "c.py: default_hooks.checkpoint.save_best: save_best='acc/top_1' is "
        "no metric the validation gives (did you mean 'acc/top1' or "
        "'acc/top5'?); "
        "MMEngine's CheckpointHook would fail on it (KeyError) at the first "
        'validation, after training. The validation gives: acc/top1, '
        'acc/top5, acc/mean1.')
    with pytest.raises(
            ConfigError,
            match=r'^--cfg-options default_hooks\.'
            r"checkpoint\.save_best=\['acc/top1', 'top5'\]: "
            r"save_best='top5' is no metric"):
        check_save_best(
            _cfg(['acc/top1', 'top5']), 'c.py',
            {'default_hooks.checkpoint.save_best': ['acc/top1', 'top5']})


def test_what_is_not_checked():
    for cfg in (_cfg('acc/top1'), _cfg(['acc/mean1',
                                        'auto']), _cfg('auto'), _cfg(None),
                _cfg('acc/top_1',
                     val_cfg=None), _cfg('acc/top_1', val_evaluator=None),
                _cfg('t2i/recall',
                     val_evaluator=dict(type='RetrievalRecall'))):
        check_save_best(cfg, 'c.py')


def test_metrics_that_write_files_are_not_run_for_their_names(tmp_path):
    """``DumpResults`` beside ``AccMetric`` wrote the made-up predictions
    over its file when the names were looked for, and mmpretrain's
    ``ShapeBiasMetric`` deleted its csv when built. A metric that is not a
    known scorer may be the one ``save_best`` names, so it is left to the
    Runner; ``DumpResults`` gives no names."""
    dump = tmp_path / 'val.pkl'
    dump.write_bytes(b'last run')
    cfg = _cfg(
        'acc/top_1',
        val_evaluator=[
            dict(type='AccMetric'),
            dict(type='DumpResults', out_file_path=str(dump))
        ])
    with pytest.raises(ConfigError, match="save_best='acc/top_1' is no"):
        check_save_best(cfg, 'c.py')
    assert dump.read_bytes() == b'last run'
    init_default_scope('mmpretrain')
    csv = tmp_path / 'cue_conflict_m_session-1.csv'
    csv.write_text('last run')
    assert validation_metric_names([
        dict(type='Accuracy'),
        dict(type='ShapeBiasMetric', csv_dir=str(tmp_path), model_name='m')
    ]) is None
    assert csv.read_text() == 'last run'
