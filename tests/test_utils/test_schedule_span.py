# Copyright (c) mmadaptformer contributors. All rights reserved.
"""check_param_scheduler warns of a schedule that ends before training
does and of a cosine that rises again past its T_max; each case is checked
against the learning rates MMEngine's own schedulers give."""
import glob
import json
import logging
import os.path as osp

import pytest
import torch
from helpers import CONFIGS, TINY_IMAGE_CONFIG, image_data_cfg, write_config
from mmengine.config import Config
from mmengine.optim.scheduler.param_scheduler import INF
from mmengine.registry import PARAM_SCHEDULERS

from mmadaptformer.utils.scheduler_check import check_param_scheduler

COSINE = dict(type='CosineAnnealingLR', eta_min=0., by_epoch=True)
WARMUP = dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0)
EPOCHS = dict(type='EpochBasedTrainLoop', val_interval=1)


def _epochs(n):
    return dict(EPOCHS, max_epochs=n)


def _lrs(schedulers, max_epochs):
    """The learning rate of each epoch under MMEngine's schedulers, built
    as the Runner builds them (``end`` defaults to ``max_epochs``)."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.)
    # One iteration an epoch: convert_to_iter_based changes nothing.
    built = [
        PARAM_SCHEDULERS.build(
            dict(
                dict(entry, optimizer=optimizer),
                end=entry.get('end', max_epochs),
                convert_to_iter_based=False)) for entry in schedulers
    ]
    lrs = []
    for _ in range(max_epochs):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for scheduler in built:
            scheduler.step()
    return lrs


def _rises(lrs):
    """Whether the rate rises again after it fell (a warm-up's rise before
    is meant)."""
    steps = [b - a for a, b in zip(lrs, lrs[1:])]
    fell = next((i for i, step in enumerate(steps) if step < -1e-12), None)
    return fell is not None and any(step > 1e-12 for step in steps[fell:])


def _held(lrs, epochs):
    """Whether the last ``epochs`` rates are all the one before them, the
    last that the schedule set."""
    return len(set(lrs[-epochs - 1:])) == 1 and lrs[-epochs - 2] != lrs[-1]


def _warnings(records):
    return [r.getMessage() for r in records if r.levelno >= logging.WARNING]


def _check(max_epochs, schedulers, options=None, iterations=False):
    """Check ``schedulers`` under an epoch loop of ``max_epochs``, or an
    iteration loop of as many iterations."""
    train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_epochs) \
        if iterations else _epochs(max_epochs)
    cfg = Config(
        dict(
            default_scope='mmpretrain',
            train_cfg=train_cfg,
            param_scheduler=schedulers))
    check_param_scheduler(cfg, 'cfg.py', options)


#: (max_epochs, param_scheduler, the warning's start or None, what the
#: real rates do: 'rises' past the minimum, or holds for N epochs).
CASES = [
    # The journey's case: the tiny configs' T_max=2 under 8 epochs.
    (8, [dict(COSINE, T_max=2)],
     'cfg.py: param_scheduler[0] (CosineAnnealingLR) has T_max=2 (epochs) '
     'from begin=0 and runs to epoch 8 (no end, so it ends with training: '
     'train_cfg.max_epochs=8): its learning rate reaches its minimum at '
     'epoch 2 and rises again for the 6 epochs left', 'rises'),
    (10, [dict(WARMUP, end=2),
          dict(COSINE, begin=2, T_max=4, end=10)],
     'cfg.py: param_scheduler[1] (CosineAnnealingLR) has T_max=4 (epochs) '
     'from begin=2 and runs to epoch 10 (end=10)', 'rises'),
    # The recipes' warm-up and cosine, trained 30 epochs longer.
    (120, [dict(WARMUP, end=10),
           dict(COSINE, T_max=80, begin=10, end=90)],
     'cfg.py: the learning rate schedule ends at epoch 90, the end of '
     'param_scheduler[1] (CosineAnnealingLR), but training runs to epoch '
     '120 (train_cfg.max_epochs=120): for the last 30 epochs the learning '
     'rate stays at the value the schedule ended with. For a schedule over '
     'the whole run, set param_scheduler[1].end to 120 and its T_max to '
     '110, or leave its end and T_max out: MMEngine then ends it with '
     'training; or train for 90 epochs (train_cfg.max_epochs=90).', 30),
    (4, [dict(COSINE, T_max=2, end=2)],
     'cfg.py: the learning rate schedule ends at epoch 2', 2),
    (6, [dict(type='StepLR', step_size=1, gamma=0.5, end=3)],
     'cfg.py: the learning rate schedule ends at epoch 3', 3),
    # Schedules that span training, a warm-up to the base rate alone, a
    # momentum schedule beside it, and a schedule that never ends.
    (8, [dict(COSINE)], None, None),
    (8, [dict(COSINE, T_max=8)], None, None),
    (8, [dict(WARMUP, end=2), dict(COSINE, begin=2)], None, None),
    (8, [dict(WARMUP, end=2),
         dict(COSINE, begin=2, end=8, T_max=6)], None, None),
    (8, [dict(WARMUP, end=2)], None, None),
    (8, [dict(type='ConstantLR', factor=0.5, end=2)], None, None),
    (8, [dict(COSINE, T_max=20, end=INF)], None, None),
    # A cosine cut short by training does not turn: only the warning that
    # training ends first.
    (8, [dict(COSINE, T_max=10, end=10)],
     'cfg.py: param_scheduler[0] (CosineAnnealingLR) has end=10 (epochs), '
     'but training ends after 8 epochs', None),
]


@pytest.mark.parametrize('max_epochs, schedulers, warning, rates', CASES)
def test_warns_of_what_mmengine_does(log_records, max_epochs, schedulers,
                                     warning, rates):
    """The cases without a warning guard kept behaviour (MMEngine's rates
    fall or warm up to the end of training)."""
    lrs = _lrs(schedulers, max_epochs)
    assert _rises(lrs) == (rates == 'rises'), lrs
    if isinstance(rates, int):
        assert _held(lrs, rates), lrs
    _check(max_epochs, schedulers)
    messages = _warnings(log_records)
    if warning is None:
        assert messages == [], messages
        return
    assert len(messages) == 1 and messages[0].startswith(warning), messages


ITERS = dict(by_epoch=False)
#: Counted in iterations under an iteration loop, or in epochs converted
#: to iterations under an epoch loop: (max_epochs or max_iters, whether
#: in iterations, param_scheduler, the warning's start, the real rates).
UNITS = [
    (100, True, [dict(COSINE, **ITERS, T_max=20)],
     'cfg.py: param_scheduler[0] (CosineAnnealingLR) has T_max=20 '
     '(iterations) from begin=0 and runs to iteration 100 (no end, so it '
     'ends with training: train_cfg.max_iters=100): its learning rate '
     'reaches its minimum at iteration 20 and rises again for the 80 '
     'iterations left', 'rises'),
    (100, True,
     [dict(WARMUP, **ITERS, end=10),
      dict(COSINE, **ITERS, begin=10, end=50)
      ], 'cfg.py: the learning rate schedule ends at iteration 50, the end of '
     'param_scheduler[1] (CosineAnnealingLR), but training runs to '
     'iteration 100 (train_cfg.max_iters=100): for the last 50 iterations',
     50),
    (10, False, [
        dict(WARMUP, end=2, convert_to_iter_based=True),
        dict(COSINE, begin=2, end=6, T_max=4, convert_to_iter_based=True)
    ], 'cfg.py: the learning rate schedule ends at epoch 6, the end of '
     'param_scheduler[1] (CosineAnnealingLR), but training runs to epoch 10 '
     '(train_cfg.max_epochs=10): for the last 4 epochs the learning rate '
     'stays at the value the schedule ended with. For a schedule over the '
     'whole run, set param_scheduler[1].end to 10 and its T_max to 8', 4),
    (100, True,
     [dict(WARMUP, **ITERS, end=10),
      dict(COSINE, **ITERS, begin=10)], None, None),
    (10, False, [
        dict(WARMUP, end=2, convert_to_iter_based=True),
        dict(COSINE, begin=2, convert_to_iter_based=True)
    ], None, None),
    # Iterations under an epoch loop: training's length in them is not
    # known before the data is built, a given end is.
    (10, False, [dict(COSINE, **ITERS, T_max=2, end=4)],
     'cfg.py: param_scheduler[0] (CosineAnnealingLR) has T_max=2 '
     '(iterations) from begin=0 and runs to iteration 4 (end=4)', 'rises'),
    (10, False, [dict(COSINE, **ITERS, end=4)], None, None),
]


@pytest.mark.parametrize('length, iterations, schedulers, warning, rates',
                         UNITS)
def test_warns_in_the_schedulers_unit(log_records, length, iterations,
                                      schedulers, warning, rates):
    """The cases without a warning guard kept behaviour."""
    lrs = _lrs(schedulers, length)
    assert _rises(lrs) == (rates == 'rises'), lrs
    if isinstance(rates, int):
        assert _held(lrs, rates), lrs
    _check(length, schedulers, iterations=iterations)
    messages = _warnings(log_records)
    if warning is None:
        assert messages == [], messages
        return
    assert len(messages) == 1 and messages[0].startswith(warning), messages


def test_momentum_beside_it_is_another_schedule(log_records):
    """A momentum scheduler without end does not hide a learning rate
    schedule that ends before training."""
    _check(6, [
        dict(COSINE, T_max=3, end=3),
        dict(type='CosineAnnealingMomentum', eta_min=0.8, by_epoch=True)
    ])
    message, = _warnings(log_records)
    assert message.startswith(
        'cfg.py: the learning rate schedule ends at epoch 3, the end of '
        'param_scheduler[0] (CosineAnnealingLR)'), message


def test_another_packages_scheduler_is_not_judged(log_records):
    """Guard of kept behaviour: mmpretrain's schedulers may end otherwise,
    so the optimizer's schedule with one is not judged."""
    _check(6, [
        dict(COSINE, T_max=3, end=3),
        dict(type='CosineAnnealingWeightDecay', eta_min=0., by_epoch=True)
    ])
    assert _warnings(log_records) == []


def test_the_option_that_lengthened_training_is_named(log_records):
    _check(120, [dict(COSINE, T_max=80, begin=10, end=90)],
           {'train_cfg.max_epochs': 120})
    message, = _warnings(log_records)
    assert message.startswith('--cfg-options train_cfg.max_epochs=120: the '
                              'learning rate schedule ends at epoch 90')


@pytest.mark.parametrize('recipe', [
    'adaptformer_vitb_hmdb51.py', 'adaptformer_vitb_ssv2.py',
    'adaptformer_vitb_cifar100.py'
])
def test_a_recipe_trained_longer_warns(log_records, recipe):
    path = osp.join(CONFIGS, recipe)
    cfg = Config.fromfile(path)
    cfg.merge_from_dict({'train_cfg.max_epochs': 120})
    check_param_scheduler(cfg, path, {'train_cfg.max_epochs': 120})
    end = cfg.param_scheduler[-1].end
    assert _warnings(log_records) == [
        '--cfg-options train_cfg.max_epochs=120: the learning rate schedule '
        f'ends at epoch {end}, the end of param_scheduler[1] '
        '(CosineAnnealingLR), but training runs to epoch 120 '
        f'(train_cfg.max_epochs=120): for the last {120 - end} epochs the '
        'learning rate stays at the value the schedule ended with. For a '
        'schedule over the whole run, set param_scheduler[1].end to 120 and '
        f'its T_max to {120 - cfg.param_scheduler[-1].begin}, or leave its '
        'end and T_max out: MMEngine then ends it with training; or train '
        f'for {end} epochs (train_cfg.max_epochs={end}).'
    ]


ALL_CONFIGS = sorted(
    path
    for path in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    if '_base_' not in path.split(osp.sep))


@pytest.mark.parametrize(
    'path', ALL_CONFIGS, ids=lambda path: osp.relpath(path, CONFIGS))
def test_every_config_spans_its_own_training(log_records, path):
    """Guard: the repository's configs raise none of the warnings."""
    check_param_scheduler(Config.fromfile(path), path)
    assert _warnings(log_records) == []


@pytest.mark.parametrize('max_epochs', [1, 3, 8])
def test_the_tiny_configs_follow_max_epochs(log_records, max_epochs):
    """Their cosine falls every epoch to the end of training, however
    long (under the old T_max=2 it rose again from epoch 3: 1 and 3 epochs
    guard kept behaviour)."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.merge_from_dict({'train_cfg.max_epochs': max_epochs})
    check_param_scheduler(cfg, TINY_IMAGE_CONFIG)
    assert _warnings(log_records) == []
    lrs = _lrs(cfg.param_scheduler, max_epochs)
    assert all(b < a for a, b in zip(lrs, lrs[1:])), lrs


def test_train_tool_warns_once(tmp_path, tiny_image_data):
    """The journey's run through ``tools/train.py``: a config with the
    tiny configs' old T_max=2, trained for 8 epochs."""
    from helpers import run_tool
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        "param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, "
        'eta_min=0., by_epoch=True)]\n')
    proc = run_tool([
        'train.py', config, '--no-validate', '--work-dir', tmp_path / 'w',
        '--cfg-options', 'train_cfg.max_epochs=8',
        'default_hooks.checkpoint.interval=8'
    ],
                    cwd=tmp_path)
    warning = ('--cfg-options train_cfg.max_epochs=8: param_scheduler[0] '
               '(CosineAnnealingLR) has T_max=2 (epochs) from begin=0 and '
               'runs to epoch 8 (no end, so it ends with training: '
               'train_cfg.max_epochs=8): its learning rate reaches its '
               'minimum at epoch 2 and rises again for the 6 epochs left, '
               'as a cosine does (its period is 2 x T_max). Set '
               'param_scheduler[0].T_max to 8, its end minus its begin, or '
               'leave T_max out: MMEngine then takes end - begin.')
    assert proc.stdout.count(warning) == 1, proc.stdout
    assert (tmp_path / 'w' / 'epoch_8.pth').is_file()


def test_train_tool_follows_max_epochs_on_a_tiny_config(
        tmp_path, tiny_image_data):
    """The tiny image config itself, trained for 8 epochs: no warning,
    and the learning rate the run logs falls every epoch (it was 0.05,
    0.025, 0, 0.025, 0.05, ...)."""
    from helpers import run_tool
    config = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    work = tmp_path / 'w'
    proc = run_tool([
        'train.py', config, '--no-validate', '--work-dir', work,
        '--cfg-options', 'train_cfg.max_epochs=8',
        'default_hooks.checkpoint.interval=8'
    ],
                    cwd=tmp_path)
    warned = [line for line in proc.stdout.splitlines() if 'WARNING' in line]
    assert not [line for line in warned if 'param_scheduler' in line], warned
    scalars, = glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))
    by_epoch = {}
    with open(scalars) as f:
        for record in map(json.loads, f):
            by_epoch.setdefault(record['epoch'], record['lr'])
    lrs = [by_epoch[epoch] for epoch in sorted(by_epoch)]
    assert len(lrs) == 8 and lrs[0] == 0.05, by_epoch
    assert all(b < a for a, b in zip(lrs, lrs[1:])), lrs
