# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Config mistakes in what the Runner builds and reads itself that end
tools/train.py and tools/test.py with one line naming the key, the value
and what was expected, before any training step: optimizer, scheduler and
hook arguments, ``env_cfg`` and other keys the Runner would ignore or
refuse late, a missing checkpoint or ``load_from``, a ``save_best`` the
validation does not give, a scheduler that starts after the run ends; and
``--no-validate`` over validation options."""
import pytest
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, image_data_cfg,
                     run_tool, video_data_cfg, write_config)
from refusal_lines import refused_line
from refused_runs import refused_run, unread_checkpoint


@pytest.mark.parametrize('option, line', [
    ('optim_wrapper.optimizer.lrr=0.1',
     '--cfg-options optim_wrapper.optimizer.lrr=0.1: SGD takes no argument '
     "'lrr' (did you mean 'lr'?). It takes: lr, momentum, dampening, "
     'weight_decay, nesterov, maximize, foreach, differentiable, fused.'),
    ('param_scheduler.0.T_mx=2',
     '--cfg-options param_scheduler.0.T_mx=2: CosineAnnealingLR takes no '
     "argument 'T_mx' (did you mean 'T_max'?)."),
    ('randomness.sed=1',
     '--cfg-options randomness.sed=1: randomness is passed to '
     "Runner.set_randomness, which takes no argument 'sed' (did you mean "
     "'seed'?)."),
    ('default_hooks.checkpoint.intervl=1',
     '--cfg-options default_hooks.checkpoint.intervl=1: '
     'AtomicCheckpointHook takes no argument intervl=1 (did you mean '
     "'interval'?): CheckpointHook passes the arguments it does not know to "
     'ConfigCopyRunner.save_checkpoint, which would refuse it at the first '
     'save, after the first epoch.'),
])
def test_an_argument_the_runner_cannot_build_with_is_one_line(
        tmp_path, tiny_video_data, option, line):
    """A misspelled optimizer or scheduler argument was a traceback from
    ``Runner.train`` (``TypeError: SGD.__init__() got an unexpected keyword
    argument 'lrr'``); a misspelled checkpoint hook argument was one at the
    first save, after an epoch of training. Both are named before any
    training step."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        option
    ],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(proc) == 'ConfigError: ' + line
    assert 'Epoch(train)' not in proc.stdout
    assert not list((tmp_path / 'w').rglob('*.pth'))


def test_no_validate_wins_over_validation_options(tmp_path, tiny_video_data):
    """``--no-validate`` cleared val_dataloader before ``--cfg-options``
    were merged, so an option under it ended the run with MMEngine's
    ``TypeError: ... cannot inherit from base because val_dataloader is a
    dict in the child config but is of type NoneType``."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--no-validate',
        '--cfg-options', 'val_dataloader.batch_size=1',
        'train_cfg.max_epochs=1'
    ],
                    cwd=tmp_path)
    assert 'Epoch(train)' in proc.stdout
    assert 'Epoch(val)' not in proc.stdout
    assert list((tmp_path / 'w').rglob('epoch_1.pth'))


@pytest.mark.parametrize('tool, option, line', [
    ('train.py', 'env_cfg.cudnn_benchmrk=True',
     "--cfg-options env_cfg.cudnn_benchmrk=True: 'cudnn_benchmrk' is no "
     "env_cfg key (did you mean 'cudnn_benchmark'?); MMEngine's Runner "
     'would ignore it without a word.'),
    ('test.py', 'env_cfg.mp_cfg.mp_start_methd=spawn',
     "--cfg-options env_cfg.mp_cfg.mp_start_methd='spawn': 'mp_start_methd' "
     "is no env_cfg.mp_cfg key (did you mean 'mp_start_method'?); "
     "MMEngine's set_multi_processing would refuse it."),
    ('train.py', 'default_hooks.chekpoint.interval=2',
     '--cfg-options default_hooks.chekpoint.interval=2: '
     "default_hooks.chekpoint is a dict without a type ({'interval': 2}) "
     "(did you mean 'checkpoint' or 'checkpoint_check'?); the Runner "
     'merges default hooks by name'),
    ('train.py', 'auto_scale_lr.enabel=True',
     "--cfg-options auto_scale_lr.enabel=True: 'enabel' is no auto_scale_lr "
     "key (did you mean 'enable'?); MMEngine's Runner would ignore it "
     'without a word.'),
    ('train.py', 'optim_wrapper.clip_grad.max_norn=1',
     "--cfg-options optim_wrapper.clip_grad.max_norn=1: 'max_norn' is no "
     'argument of torch.nn.utils.clip_grad_norm_ (did you mean '
     "'max_norm'?)"),
    ('test.py', 'log_level=info',
     "--cfg-options log_level='info': log_level='info' is no logging level "
     "(did you mean 'INFO'?)"),
    ('train.py', 'optim_wrapper.paramwise_cfg.custom_keys.head.lr_mul=10',
     '--cfg-options optim_wrapper.paramwise_cfg.custom_keys.head.lr_mul=10: '
     "'lr_mul' is no multiplier (did you mean 'lr_mult'?)"),
])
def test_a_key_the_runner_reads_itself_is_checked_first(
        tmp_path, tiny_video_data, tool, option, line):
    """A misspelled ``env_cfg`` key was silently ignored by the Runner (the
    run went on without the setting); a misspelled ``mp_cfg`` key was a
    traceback from the Runner's constructor, after the work dir was made;
    a misspelled default hook was ``KeyError: '`cfg` or `default_args`
    must contain the key "type"'`` and a lower-case log level ``KeyError:
    'info'``, both tracebacks; a misspelled ``lr_mult`` trained at the
    base lr without a word."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    refused = refused_run(tool, config, tmp_path, '--cfg-options', option,
                          'train_cfg.max_epochs=1')
    assert refused.startswith('ConfigError: ' + line)
    assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('tool, given, line', [
    ('train.py', ['--resume', 'gone.pth'
                  ], 'train.py: error: --resume {tmp}/gone.pth: no such file'),
    ('test.py', ['gone.pth'
                 ], 'test.py: error: checkpoint {tmp}/gone.pth: no such file'),
    ('test.py', ['w0'],
     'test.py: error: checkpoint {tmp}/w0: it is a folder, not a file'),
    ('test.py', ['{unread}', '--pretrained', 'gone.pth'],
     'test.py: error: --pretrained {tmp}/gone.pth: no such file'),
])
def test_a_missing_checkpoint_on_the_command_line_is_named_first(
        tmp_path, tiny_video_data, tool, given, line):
    """A checkpoint that is not there was found only when the Runner loaded
    it (``FileNotFoundError: Checkpoint file not found``), after it had
    made a timestamped log folder in the work dir and built the model. It
    is a mistake of the command line (exit 2, as infer.py says it), named
    before anything is made."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    (tmp_path / 'w0').mkdir()
    unread = unread_checkpoint(tmp_path)
    given = [
        str(tmp_path / a) if a in ('gone.pth',
                                   'w0') else a.format(unread=unread)
        for a in given
    ]
    proc = run_tool([tool, config, *given, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == line.format(tmp=tmp_path)
    assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('where', ['config', 'option', 'folder'])
def test_a_missing_load_from_is_named_before_the_runner(
        tmp_path, tiny_video_data, where):
    """``load_from`` set in the config or by ``--cfg-options``: a file that
    is not there was ``FileNotFoundError: Checkpoint file not found`` after
    the Runner had made a log folder in the work dir and built the model.
    It is named with the key, or the option that set it."""
    gone = str(tmp_path / ('w0' if where == 'folder' else 'gone.pth'))
    (tmp_path / 'w0').mkdir()
    extra = f'load_from = {gone!r}\n' if where != 'option' else ''
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data) + extra)
    options = ['--cfg-options', f'load_from={gone}'] \
        if where == 'option' else []
    proc = run_tool(
        ['train.py', config, '--work-dir', tmp_path / 'w'] + options,
        cwd=tmp_path,
        check=False)
    place = f"--cfg-options load_from='{gone}'" if where == 'option' else \
        f'{config}: load_from'
    problem = 'is a folder, not a checkpoint file' if where == 'folder' \
        else 'does not exist'
    assert refused_line(proc) == (
        f'ConfigError: {place}: the checkpoint {gone} {problem}.')
    assert not (tmp_path / 'w').exists()


def test_save_best_is_checked_against_the_validation_metrics(
        tmp_path, tiny_video_data):
    """mmpretrain's metric name on a video config failed with a KeyError at
    the first validation, after the epoch had trained; it is named before
    anything is made. The name the validation gives trains and keeps its
    best checkpoint."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    assert refused_run(
        'train.py', config, tmp_path, '--cfg-options',
        'default_hooks.checkpoint.save_best=accuracy/top1',
        'train_cfg.max_epochs=1'
    ) == (
        'ConfigError: --cfg-options default_hooks.checkpoint.save_best='
        "'accuracy/top1': save_best='accuracy/top1' is no metric the "
        "validation gives (did you mean 'acc/top1' or 'acc/top5'?); "
        "MMEngine's "
        'CheckpointHook would fail on it (KeyError) at the first validation, '
        'after training. The validation gives: acc/top1, acc/top5, '
        'acc/mean1.')
    assert not (tmp_path / 'w').exists()
    run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        'default_hooks.checkpoint.save_best=acc/top1', 'train_cfg.max_epochs=1'
    ],
             cwd=tmp_path)
    assert list((tmp_path / 'w').glob('best_acc_top1_epoch_1.pth'))


def test_a_scheduler_that_starts_after_the_run_ends_is_one_line(
        tmp_path, tiny_image_data):
    """A stock recipe's warm-up then cosine (``begin=20``, ``end`` left to
    the run's length) on a run shortened to one epoch failed inside the
    Runner with ``end should be larger than begin``, naming no key."""
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) + '\ntrain_cfg = dict(max_epochs=30)\n'
        'param_scheduler = [\n'
        '    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0,'
        ' end=20),\n'
        '    dict(type="CosineAnnealingLR", by_epoch=True, begin=20,'
        ' T_max=10)]\n')
    refused = refused_run('train.py', config, tmp_path, '--cfg-options',
                          'train_cfg.max_epochs=1')
    assert refused == (
        'ConfigError: --cfg-options train_cfg.max_epochs=1: '
        'param_scheduler[1] (CosineAnnealingLR) has begin=20 and no end, so '
        'it ends with training: train_cfg.max_epochs=1 (epochs); MMEngine '
        'would refuse it once training starts (end should be larger than '
        'begin). For a run this short, set param_scheduler[1].begin below 1 '
        '(and its T_max, if any, to the epochs it spans) or remove '
        'param_scheduler[1]; or train longer than 20 epochs.')
    assert not (tmp_path / 'w').exists()
