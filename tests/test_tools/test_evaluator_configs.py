# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/test.py and tools/train.py on evaluator configs
(``dict(type=..., metrics=...)``), real runs on real image files in fresh
processes: the tools tell an Evaluator by the class its ``type`` builds
(:func:`~mmadaptformer.utils.metric_scorers.evaluator_metric_cfgs`)."""
from types import SimpleNamespace

import pytest
from helpers import (TINY_IMAGE_CONFIG, image_data_cfg, run_tool,
                     save_as_built_checkpoint, write_config)
from mmengine.fileio import load
from refusal_lines import refused_line

_TOP5 = ('Accuracy cannot score the 2 classes of model.head.num_classes=2: '
         'ValueError: Top-5 accuracy is unavailable since the number of '
         'categories is 2.')


def _config(run, name: str, evaluator: str, extra: str = '') -> str:
    """The tiny image config with ``evaluator`` as both evaluators (in
    place of the base's, not merged into it)."""
    body = (f'{image_data_cfg(run.data)}val_evaluator = dict(_delete_=True, '
            f'{evaluator})\ntest_evaluator = val_evaluator\n{extra}')
    return write_config(run.dir / f'{name}.py', TINY_IMAGE_CONFIG, body)


@pytest.fixture(scope='module')
def run(tmp_path_factory, tiny_image_data):
    """The folder of the runs, the image data and a checkpoint."""
    run = SimpleNamespace(
        dir=tmp_path_factory.mktemp('evaluator_configs'), data=tiny_image_data)
    top1 = "type='Evaluator', metrics=[dict(type='Accuracy', topk=(1, ))]"
    run.ckpt = save_as_built_checkpoint(
        _config(run, 'ckpt', top1), run.dir / 'ckpt.pth')
    return run


def test_dump_joins_an_evaluator_config(run):
    """``--dump`` (and ``--out``) on ``dict(type='Evaluator', metrics=...)``
    ended before testing with "ConfigError: ...
    test_evaluator[0].type='Evaluator' is not in the mmpretrain::metric
    registry", blaming the user's valid config."""
    for name, metrics in (('list', "[dict(type='Accuracy', topk=(1, ))]"),
                          ('one', "dict(type='Accuracy', topk=(1, ))")):
        cfg = _config(run, name, f"type='Evaluator', metrics={metrics}")
        dump, out = run.dir / f'{name}_dump.pkl', run.dir / f'{name}_out.pkl'
        proc = run_tool([
            'test.py', cfg, run.ckpt, '--work-dir', run.dir / f'{name}_work',
            '--dump', dump, '--out', out
        ],
                        cwd=run.dir)
        assert 'Epoch(test) [2/2]    accuracy/top1: ' in proc.stdout
        assert len(load(str(dump))) == 8 and len(load(str(out))) == 8


@pytest.mark.parametrize('tool', ['test.py', 'train.py'])
def test_mmengine_evaluator_metrics_get_the_checks(run, tool):
    """``type='mmengine.Evaluator'`` made the checks skip its metrics:
    top-5 accuracy on 2 classes ran the whole test (or a training epoch)
    and ended with mmpretrain's ValueError traceback."""
    cfg = _config(
        run, 'top5', "type='mmengine.Evaluator', "
        "metrics=[dict(type='Accuracy', topk=(1, 5))]")
    work = run.dir / f'top5_{tool}'
    args = [tool, cfg] + ([run.ckpt] if tool == 'test.py' else [])
    proc = run_tool(args + ['--work-dir', work], cwd=run.dir, check=False)
    line = refused_line(proc, absent=['Epoch('], no_dir=work)
    key = 'test_evaluator' if tool == 'test.py' else 'val_evaluator'
    assert line.startswith(f'ConfigError: {cfg}: {key}: {_TOP5}'), line


def test_mmengine_evaluator_save_best_is_checked(run):
    """``save_best`` was not checked against an ``'mmengine.Evaluator'``'s
    metrics: ``KeyError: 'accuracy/top_1'`` after the first epoch."""
    cfg = _config(
        run, 'save_best', "type='mmengine.Evaluator', "
        "metrics=[dict(type='Accuracy', topk=(1, ))]",
        "default_hooks = dict(checkpoint=dict(save_best='accuracy/top_1'))\n")
    work = run.dir / 'save_best_work'
    proc = run_tool(['train.py', cfg, '--work-dir', work],
                    cwd=run.dir,
                    check=False)
    line = refused_line(proc, absent=['Epoch('], no_dir=work)
    assert line.startswith(
        f'ConfigError: {cfg}: default_hooks.checkpoint.save_best: '
        "save_best='accuracy/top_1' is no metric the validation gives (did "
        "you mean 'accuracy/top1'?)"), line


def test_an_evaluator_type_no_registry_holds_is_named_first(run):
    """With --dump, a misspelled evaluator type was blamed on the metric
    registry (``test_evaluator[0].type``); without it, it was named only
    once the test loop was built, after the work dir was made."""
    cfg = _config(
        run, 'typo',
        "type='Evaluatr', metrics=[dict(type='Accuracy', topk=(1, ))]")
    for flags in ([], ['--dump', str(run.dir / 'typo.pkl')]):
        work = run.dir / f'typo_work{len(flags)}'
        proc = run_tool(
            ['test.py', cfg, run.ckpt, '--work-dir', work] + flags,
            cwd=run.dir,
            check=False)
        line = refused_line(proc, absent=['Epoch('], no_dir=work)
        assert line == (
            f'ConfigError: {cfg}: val_evaluator.type and test_evaluator.type='
            "'Evaluatr' is not in the mmpretrain::evaluator registry; did you "
            "mean 'Evaluator'? Check the spelling, or import the module that "
            'registers it (custom_imports).'), line


def test_a_misspelled_type_from_cfg_options_is_named_as_the_option(run):
    """With --dump, an evaluator type given by ``--cfg-options`` was blamed
    on the config file, where the type is spelled right."""
    cfg = _config(
        run, 'option_typo',
        "type='Evaluator', metrics=[dict(type='Accuracy', topk=(1, ))]")
    work = run.dir / 'option_typo_work'
    proc = run_tool([
        'test.py', cfg, run.ckpt, '--work-dir', work, '--dump',
        str(run.dir / 'option_typo.pkl'), '--cfg-options',
        'test_evaluator.type=Evaluatr'
    ],
                    cwd=run.dir,
                    check=False)
    line = refused_line(proc, absent=['Epoch('], no_dir=work)
    assert line == (
        "ConfigError: --cfg-options test_evaluator.type='Evaluatr' is not in "
        "the mmpretrain::evaluator registry; did you mean 'Evaluator'? Check "
        'the spelling, or import the module that registers it '
        '(custom_imports).'), line
