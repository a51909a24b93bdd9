# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A metric that cannot score the head's number of classes (mmpretrain's
top-5 accuracy on three classes, as every ImageNet config asks) is named
before the run, not after its first training epoch or its whole test."""
import importlib
import pickle

import pytest
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, image_data_cfg,
                     run_tool, write_config)
from mmengine.config import Config
from mmpretrain.evaluation import Accuracy
from mmpretrain.registry import METRICS
from refusal_lines import refused_line

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.image_metric_classes import check_metric_classes
from mmadaptformer.utils.metric_scorers import SCORERS

_TOP5 = ('ValueError: Top-5 accuracy is unavailable since the number of '
         'categories is 2. Please check the `val_evaluator` and '
         '`test_evaluator` fields in your config file')


def _config(**evaluators):
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.merge_from_dict(evaluators)
    return cfg


def test_a_top_k_above_the_head_classes_is_named():
    cfg = _config(test_evaluator=dict(type='Accuracy', topk=(1, 5)))
    with pytest.raises(ConfigError) as error:
        check_metric_classes(cfg, 'c.py', ['test_evaluator'])
    assert str(error.value) == (
        'c.py: test_evaluator: Accuracy cannot score the 2 classes of '
        f'model.head.num_classes=2: {_TOP5}. The run would stop on it only '
        'after the whole test. Ask the metric for what 2 classes allow '
        '(e.g. its topk), in every evaluator that copies it.')
    # Only the evaluators the tool runs are checked.
    check_metric_classes(cfg, 'c.py', ['val_evaluator'])


@pytest.mark.parametrize('evaluator', [
    dict(type='Accuracy', topk=(1, 2)),
    [dict(type='Accuracy'),
     dict(type='SingleLabelMetric')],
    dict(type='NoSuchMetric'),
])
def test_metrics_the_classes_allow_pass(evaluator):
    """And one that cannot be built is left to the Runner, which names
    it."""
    check_metric_classes(
        _config(val_evaluator=evaluator), 'c.py', ['val_evaluator'])


def test_tools_train_stops_before_the_first_epoch(tmp_path, tiny_image_data):
    config = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        'val_evaluator.topk=[1,5]'
    ],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(proc) == (
        'ConfigError: --cfg-options val_evaluator.topk=[1, 5]: Accuracy '
        'cannot score the 2 classes of model.head.num_classes=2: '
        f'{_TOP5}. The run would stop on it only after a training epoch, '
        'at the first validation. Ask the metric for what 2 classes allow '
        '(e.g. its topk), in every evaluator that copies it.')
    assert not (tmp_path / 'w').exists()


def test_metrics_that_write_files_are_neither_built_nor_run(tmp_path):
    """mmpretrain's ShapeBiasMetric deletes its csv file of the last run
    when it is built, and DumpResults writes what it is given: the check
    built them (and ran DumpResults' neighbours) on made-up samples. Here
    they are inherited from mmpretrain (``_scope_``) into a video config,
    whose default scope is mmaction."""
    csv = tmp_path / 'cue_conflict_vit_session-1.csv'
    csv.write_text('the last run\n')
    dump = tmp_path / 'predictions.pkl'
    dump.write_bytes(pickle.dumps(['the last run']))
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.test_evaluator = [
        dict(
            type='ShapeBiasMetric',
            csv_dir=str(tmp_path),
            model_name='vit',
            _scope_='mmpretrain'),
        dict(type='DumpResults', out_file_path=str(dump)),
        dict(type='Accuracy', topk=(1, 5), _scope_='mmpretrain'),
    ]
    with pytest.raises(ConfigError) as error:
        check_metric_classes(cfg, 'c.py', ['test_evaluator'])
    assert str(error.value).startswith(
        'c.py: test_evaluator: Accuracy cannot score the 2 classes of '
        f'model.cls_head.num_classes=2: {_TOP5}.')
    assert csv.read_text() == 'the last run\n'
    assert pickle.loads(dump.read_bytes()) == ['the last run']


@METRICS.register_module(force=True)
class _SavedAccuracy(Accuracy):
    """A user's metric: mmpretrain's Accuracy that also saves what it
    scored."""

    def __init__(self, out_file: str, **kwargs):
        super().__init__(**kwargs)
        self.out_file = out_file

    def compute_metrics(self, results):
        with open(self.out_file, 'wb') as f:
            pickle.dump(results, f)
        return super().compute_metrics(results)


def test_a_users_subclass_of_a_scorer_is_left_to_the_runner(tmp_path):
    """Its compute_metrics wrote the made-up samples to its file; a
    subclass may do anything, so it is not run (its topk is the Runner's
    to refuse)."""
    out = tmp_path / 'scored.pkl'
    cfg = _config(
        val_evaluator=dict(
            type='_SavedAccuracy', out_file=str(out), topk=(1, 5)))
    check_metric_classes(cfg, 'c.py', ['val_evaluator'])
    assert not out.exists()


@pytest.mark.parametrize('name', SCORERS)
def test_each_scorer_names_an_installed_metric(name):
    """A scorer moved upstream would silently no longer be checked."""
    module, cls = name.rsplit('.', 1)
    metric = getattr(importlib.import_module(module), cls)
    assert f'{metric.__module__}.{metric.__qualname__}' == name
