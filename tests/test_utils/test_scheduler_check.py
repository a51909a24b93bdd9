# Copyright (c) mmadaptformer contributors. All rights reserved.
"""check_param_scheduler refuses, naming the entry and the train_cfg
value, exactly the begin/end pairs MMEngine's Runner refuses when it
builds the schedulers, and no other."""
import copy
import logging

import pytest
from helpers import TINY_IMAGE_CONFIG, image_data_cfg, run_tool, write_config
from mmengine.config import Config
from mmengine.optim.scheduler.param_scheduler import INF
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.scheduler_check import check_param_scheduler

EPOCHS_1 = dict(by_epoch=True, max_epochs=1, val_interval=1)
EPOCHS_30 = dict(by_epoch=True, max_epochs=30, val_interval=1)
ITERS_5 = dict(type='IterBasedTrainLoop', max_iters=5, val_interval=5)

COSINE = dict(type='CosineAnnealingLR', eta_min=0., by_epoch=True)

#: (train_cfg, param_scheduler, the start of the refusal or None).
CASES = [
    # The audit's case: a stock recipe's cosine after a 20-epoch warm-up,
    # trained for one epoch, without end (it ends with training) ...
    (EPOCHS_1,
     [dict(type='LinearLR', start_factor=0.1, end=20),
      dict(COSINE, begin=20)
      ], 'cfg.py: param_scheduler[1] (CosineAnnealingLR) has begin=20 and no '
     'end, so it ends with training: train_cfg.max_epochs=1 (epochs)'),
    # ... and with end=max_epochs, a variable of the config.
    (EPOCHS_1, [dict(COSINE, begin=20, end=1)],
     'cfg.py: param_scheduler[0] (CosineAnnealingLR) has begin=20 and '
     'end=1, the length of training: train_cfg.max_epochs=1 (epochs)'),
    (EPOCHS_1, [dict(COSINE, begin=20, convert_to_iter_based=True)],
     'cfg.py: param_scheduler[0] (CosineAnnealingLR) has begin=20 and no '
     'end'),
    (ITERS_5, [dict(COSINE, by_epoch=False, begin=10)],
     'cfg.py: param_scheduler[0] (CosineAnnealingLR) has begin=10 and no '
     'end, so it ends with training: train_cfg.max_iters=5 (iterations)'),
    # An iteration-based loop counts one epoch.
    (ITERS_5, [dict(COSINE, begin=1)],
     'cfg.py: param_scheduler[0] (CosineAnnealingLR) has begin=1 and no '
     'end'),
    (EPOCHS_30, [dict(COSINE, begin=5, end=5)],
     'cfg.py: param_scheduler[0] (CosineAnnealingLR) has begin=5 and '
     'end=5 (epochs)'),
    (EPOCHS_30, dict(COSINE, begin=30), 'cfg.py: param_scheduler '
     '(CosineAnnealingLR) has begin=30 and no end'),
    # What MMEngine builds is not refused.
    (EPOCHS_1, [dict(type='LinearLR', start_factor=0.1, end=20)], None),
    (EPOCHS_30, [dict(COSINE, begin=20)], None),
    (EPOCHS_1, [dict(COSINE, begin=0.5, convert_to_iter_based=True)], None),
    (EPOCHS_1, [dict(COSINE, begin=20, end=INF,
                     convert_to_iter_based=True)], None),
    (ITERS_5, [dict(COSINE, begin=0)], None),
    (ITERS_5, [dict(COSINE, by_epoch=False, begin=4)], None),
]


@pytest.fixture(scope='module')
def runner(tmp_path_factory, tiny_image_data):
    """A real Runner of the tiny image config (4 images, batches of 4:
    one iteration an epoch), its train loop and optimizer built."""
    tmp = tmp_path_factory.mktemp('scheduler_check')
    cfg = Config.fromfile(
        write_config(tmp / 'cfg.py', TINY_IMAGE_CONFIG,
                     image_data_cfg(tiny_image_data)))
    cfg.work_dir = str(tmp / 'work')
    built = Runner.from_cfg(cfg)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        built.optim_wrapper = built.build_optim_wrapper(built.optim_wrapper)
        # Built once: each test's train loop takes it as it is.
        built._train_dataloader = built.build_dataloader(
            built._train_dataloader)
    yield built, cfg


def _mmengine_refuses(runner, train_cfg, schedulers) -> bool:
    """Whether MMEngine's Runner refuses ``schedulers`` under a train loop
    of ``train_cfg``, as it builds them in ``Runner.train``."""
    runner._train_loop = runner.build_train_loop(copy.deepcopy(train_cfg))
    try:
        runner.build_param_scheduler(copy.deepcopy(schedulers))
    except ValueError as error:
        assert 'end should be larger than begin' in str(error)
        return True
    return False


@pytest.mark.parametrize('train_cfg, schedulers, refusal', CASES)
def test_refuses_what_mmengine_refuses(runner, train_cfg, schedulers, refusal):
    built, cfg = runner
    assert _mmengine_refuses(built, train_cfg, schedulers) == bool(refusal)
    cfg = copy.deepcopy(cfg)
    cfg.train_cfg = train_cfg
    cfg.param_scheduler = schedulers
    if refusal is None:
        check_param_scheduler(cfg, 'cfg.py')
        return
    with pytest.raises(ConfigError) as info:
        check_param_scheduler(cfg, 'cfg.py')
    message = str(info.value)
    assert message.startswith(refusal), message
    assert 'MMEngine would refuse it once training starts' in message


def test_the_option_that_shortened_training_is_named(runner):
    cfg = copy.deepcopy(runner[1])
    cfg.train_cfg = EPOCHS_1
    cfg.param_scheduler = [dict(COSINE, begin=20)]
    with pytest.raises(ConfigError) as info:
        check_param_scheduler(cfg, 'cfg.py', {'train_cfg.max_epochs': 1})
    assert str(info.value) == (
        '--cfg-options train_cfg.max_epochs=1: param_scheduler[0] '
        '(CosineAnnealingLR) has begin=20 and no end, so it ends with '
        'training: train_cfg.max_epochs=1 (epochs); MMEngine would refuse '
        'it once training starts (end should be larger than begin). For a '
        'run this short, set param_scheduler[0].begin below 1 (and its '
        'T_max, if any, to the epochs it spans) or remove '
        'param_scheduler[0]; or train longer than 20 epochs.')


def test_an_iteration_count_under_an_epoch_loop_is_left_to_mmengine(runner):
    """Its end is max_epochs x the epoch length, unknown before the data
    is built: not refused, whatever MMEngine does with it."""
    cfg = copy.deepcopy(runner[1])
    cfg.train_cfg = EPOCHS_1
    cfg.param_scheduler = [dict(COSINE, by_epoch=False, begin=10)]
    assert _mmengine_refuses(runner[0], EPOCHS_1, cfg.param_scheduler)
    check_param_scheduler(cfg, 'cfg.py')


LINEAR = dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0)

#: (train_cfg, param_scheduler, the warning or None): valid for MMEngine,
#: and warned of when the given end is after the end of training.
PAST_TRAINING = [
    (EPOCHS_1, [dict(LINEAR, end=20)],
     'cfg.py: param_scheduler[0] (LinearLR) has end=20 (epochs), but '
     'training ends after 1 epoch (train_cfg.max_epochs=1)'),
    # The stock MViT recipe's warm-up and cosine, trained for one epoch:
    # counted in epochs, as both ends grow with the epoch length.
    (EPOCHS_1, [
        dict(LINEAR, end=30, convert_to_iter_based=True),
        dict(COSINE, T_max=170, begin=30, end=200, convert_to_iter_based=True)
    ], 'cfg.py: param_scheduler[0] (LinearLR) has end=30 (epochs)'),
    (ITERS_5, [dict(LINEAR, by_epoch=False, end=10)],
     'cfg.py: param_scheduler[0] (LinearLR) has end=10 (iterations), but '
     'training ends after 5 iterations (train_cfg.max_iters=5)'),
    (ITERS_5, [dict(COSINE, end=3)],
     'cfg.py: param_scheduler[0] (CosineAnnealingLR) has end=3 (epochs), '
     'but training ends after 1 epoch (train_cfg (IterBasedTrainLoop, '
     'which counts one epoch))'),
    (EPOCHS_30, dict(LINEAR, end=31), 'cfg.py: param_scheduler (LinearLR) '
     'has end=31 (epochs), but training ends after 30 epochs'),
    # Ends that fit, MMEngine's INF, no end, and ends whose length in
    # iterations is unknown before the data is built.
    (EPOCHS_30, [dict(LINEAR, end=20),
                 dict(COSINE, begin=20, end=30)], None),
    (EPOCHS_1, [dict(COSINE, end=INF)], None),
    (EPOCHS_1, [dict(COSINE, end=INF, convert_to_iter_based=True)], None),
    (EPOCHS_1, [dict(COSINE)], None),
    (EPOCHS_1, [dict(LINEAR, by_epoch=False, end=1000)], None),
    (ITERS_5, [dict(LINEAR, end=3, convert_to_iter_based=True)], None),
]


def _warnings(records):
    return [r.getMessage() for r in records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize('train_cfg, schedulers, warning', PAST_TRAINING)
def test_warns_of_an_end_after_training(runner, log_records, train_cfg,
                                        schedulers, warning):
    built, cfg = runner
    assert not _mmengine_refuses(built, train_cfg, schedulers)
    cfg = copy.deepcopy(cfg)
    cfg.train_cfg = train_cfg
    cfg.param_scheduler = schedulers
    check_param_scheduler(cfg, 'cfg.py')
    messages = _warnings(log_records)
    if warning is None:
        assert messages == []
        return
    assert messages[0].startswith(warning), messages
    assert 'never reaches its values from there' in messages[0]


def test_mvit_recipe_for_one_epoch_warns_of_both_schedulers(
        runner, log_records):
    cfg = copy.deepcopy(runner[1])
    cfg.train_cfg = EPOCHS_1
    cfg.param_scheduler = PAST_TRAINING[1][1]
    check_param_scheduler(cfg, 'cfg.py', {'train_cfg.max_epochs': 1})
    assert _warnings(log_records) == [
        f'--cfg-options train_cfg.max_epochs=1: param_scheduler[{i}] '
        f'({name}) has end={end} (epochs), but training ends after 1 '
        'epoch (train_cfg.max_epochs=1): the learning rate (or momentum) '
        f'follows it only up to epoch 1 and never reaches its values from '
        f'there to {end}. Set param_scheduler[{i}].end to at most 1 for a '
        'schedule that completes, or train longer.'
        for i, name, end in ((0, 'LinearLR', 30), (1, 'CosineAnnealingLR',
                                                   200))
    ]


def test_train_tool_warns_before_training(tmp_path, tiny_image_data):
    """Through ``tools/train.py``: the warning is in the run's output,
    before the Runner is built, and the run trains."""
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        "param_scheduler = [dict(type='LinearLR', start_factor=0.1, "
        'end=20)]\n')
    work_dir = tmp_path / 'w'
    proc = run_tool([
        'train.py', config, '--no-validate', '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_epochs=1'
    ],
                    cwd=tmp_path)
    warning = ('--cfg-options train_cfg.max_epochs=1: param_scheduler[0] '
               '(LinearLR) has end=20 (epochs), but training ends after 1 '
               'epoch (train_cfg.max_epochs=1)')
    assert warning in proc.stdout
    assert (work_dir / 'epoch_1.pth').is_file()
