# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A run trained on 2 CPU processes (gloo DDP) and resumed on 1 goes on
with half the total batch at the checkpoint's lr; one warning says so,
with both batches, the lr that trains and the commands that go on with
the checkpoint's batch, and those commands run without it; its new run
from the checkpoint's weights names a work dir of its own, so it leaves
the file it loads as it was. Real processes: ranks of ``tools/train.py``
and ``tools/dist_train.sh``."""
import re
import shutil

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, pretrained_cfg, run_ranks,
                     run_tool, video_data_cfg, write_config)
from tool_runners import free_port

from mmadaptformer.utils import safe_torch_load

# The recipes' schedule in small: warm-up then cosine, converted to
# iterations, lr scaled to the total batch (8: 2 processes x 4).
SCHEDULE = """
param_scheduler = [
    dict(type='LinearLR', start_factor=0.5, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=3, eta_min=0., by_epoch=True,
         begin=1, end=4, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=4)
auto_scale_lr = dict(enable=True, base_batch_size=8)
"""
RESUME_WARNING = re.compile(r'WARNING - (Resuming from .*)')
LR = re.compile(r'Epoch\(train\) \[(\d+)\]\[(\d+)/(\d+)\]\s+lr: (\S+)')


@pytest.fixture(scope='module')
def trained(tmp_path_factory, tiny_video_data, stock_video_backbone):
    """A config and the work dir of its first 2 of 4 epochs on 2
    processes (one iteration an epoch)."""
    root = tmp_path_factory.mktemp('resume_other_batch')
    cfg = write_config(
        root / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        pretrained_cfg(stock_video_backbone) + SCHEDULE)
    work = root / 'work'
    run_ranks([
        'train.py', cfg, '--work-dir', work, '--seed', '0', '--cfg-options',
        'train_cfg.max_epochs=2'
    ],
              2,
              cwd=root,
              port=free_port(),
              timeout=400)
    return cfg, work


def _copy(work, tmp_path, name):
    copy = tmp_path / name
    shutil.copytree(work, copy)
    # The work dir's latest checkpoint, as --resume finds it.
    (copy / 'last_checkpoint').write_text(str(copy / 'epoch_2.pth'))
    return copy


def _resume(cfg, work, tmp_path, *extra):
    proc = run_tool(
        ['train.py', cfg, '--work-dir', work, '--resume'] + list(extra),
        cwd=tmp_path)
    return proc.stdout


def _warnings(log):
    return RESUME_WARNING.findall(log)


def _lrs(log):
    """The lr of each logged training iteration: {(epoch, iter): lr}, and
    the iterations an epoch took."""
    found = LR.findall(log)
    return ({(int(e), int(i)): float(lr)
             for e, i, _, lr in found}, {int(n)
                                         for *_, n, _ in found})


def test_resume_on_another_process_count_says_batch_and_lr(tmp_path, trained):
    """The resume said nothing of the batch, and that the config's lr had
    changed ("lr 0.025 in the config, 0.05 in the checkpoint") and so had
    its param_scheduler (the iterations of another epoch length)."""
    cfg, work = trained
    log = _resume(cfg, _copy(work, tmp_path, 'one'), tmp_path)
    (warning, ) = _warnings(log)
    meta = safe_torch_load(work / 'epoch_2.pth', map_location='cpu')['meta']
    assert meta['train_batch'] == dict(
        world_size=2,
        batch_size=4,
        accumulative_counts=1,
        iters_per_epoch=1,
        lr_scale=1.)
    checkpoint = str(tmp_path / 'one' / 'epoch_2.pth')
    assert warning.startswith(
        f'Resuming from {checkpoint} with another total batch: the '
        'checkpoint was trained with 8 (2 processes x 4) and this run has 4 '
        '(1 process x 4), so an epoch takes 2 iterations instead of 1. '
        'MMEngine restores the optimizer state with its param groups whole, '
        "so training goes on at the checkpoint's lr 0.05 (its config's lr x "
        '1 by auto_scale_lr), not at the lr 0.025 this run set up (the '
        "config's lr x 0.5 by auto_scale_lr for a total batch of 4); base "
        'values, before any param_scheduler. The param_scheduler counted in '
        'iterations (convert_to_iter_based) is restored as the checkpoint '
        'has it: LinearLR (param_scheduler[0]) ends at iteration 1: after '
        'epoch 1 there, 0.5 here; CosineAnnealingLR (param_scheduler[1]) '
        'ends at iteration 4: after epoch 4 there, 2 here. After the last '
        'of them ends, the lr stays at the last value set.'), warning
    assert 'the config\'s' not in warning.split('. ')[0]
    lrs, lengths = _lrs(log)
    assert lengths == {2}

    # The advised commands: the checkpoint's total batch on 1 process,
    # and 2 processes with dist_train.sh.
    one = re.search(
        r'keep its total batch of 8 on 1 process \(\.\.\. (--resume '
        r'--cfg-options train_dataloader\.batch_size=8)\)', warning)
    two = re.search(
        r'resume on 2 processes \((tools/dist_train\.sh) CONFIG 2 \.\.\. '
        r'(--resume)\)', warning)
    assert one and two, warning
    kept = _resume(cfg, _copy(work, tmp_path, 'kept'), tmp_path,
                   *one.group(1).split()[1:])
    dist = run_tool(
        [
            'dist_train.sh', cfg, '2', '--work-dir',
            _copy(work, tmp_path, 'two'), '--seed', '0'
        ] + two.group(2).split(),
        cwd=tmp_path,
        env=dict(PORT=str(free_port())),
        timeout=400).stdout
    kept_lrs, kept_lengths = _lrs(kept)
    dist_lrs, dist_lengths = _lrs(dist)
    for advised in (kept, dist):
        assert _warnings(advised) == []
        assert 'resumed epoch: 2, iter: 2' in advised
    # One iteration an epoch again, on the checkpoint's schedule; the run
    # on 1 process trained iteration 3 at the lr the 2 processes did: the
    # checkpoint's, not the one auto_scale_lr set up for a batch of 4.
    assert kept_lengths == dist_lengths == {1}
    assert kept_lrs == dist_lrs
    assert sorted(dist_lrs) == [(3, 1), (4, 1)]
    assert lrs[(3, 1)] == dist_lrs[(3, 1)]

    # The advised new run, typed after the resume's own --work-dir as a
    # user keeps it, trains in a work dir of its own: in the resumed run's,
    # its epoch_2.pth would replace the file it loads.
    new = re.search(
        r'\(tools/train\.py(?::| CONFIG) (\S.*?), without --resume\)', warning)
    assert new, warning
    args = new.group(1).split()
    assert args == [
        '--work-dir', f'{tmp_path / "one"}_from_epoch_2', '--cfg-options',
        f'load_from={checkpoint}'
    ]
    loaded = (tmp_path / 'one' / 'epoch_2.pth').read_bytes()
    run_tool(
        ['train.py', cfg, '--work-dir', tmp_path / 'one'] + args +
        ['train_cfg.max_epochs=2'],
        cwd=tmp_path)
    assert (tmp_path / 'one_from_epoch_2' / 'epoch_2.pth').is_file()
    assert (tmp_path / 'one' / 'epoch_2.pth').read_bytes() == loaded


def test_resume_of_a_checkpoint_without_the_record(tmp_path, trained):
    """A checkpoint saved before the batch was recorded: its lr warning
    says that auto_scale_lr may explain the difference, not only that the
    config changed."""
    cfg, work = trained
    old = _copy(work, tmp_path, 'old')
    checkpoint = safe_torch_load(old / 'epoch_2.pth', map_location='cpu')
    checkpoint['meta'].pop('train_batch', None)
    torch.save(checkpoint, old / 'epoch_2.pth')
    log = _resume(cfg, old, tmp_path)
    warnings = _warnings(log)
    lr_warning = [w for w in warnings if 'optimizer settings' in w]
    assert len(lr_warning) == 1, warnings
    assert ('(lr 0.025 in the config, 0.05 in the checkpoint; base values, '
            'before any param_scheduler) (auto_scale_lr is on: this run\'s '
            'lr is the config\'s x 0.5 for its total batch of 4; the '
            'checkpoint does not record the total batch it was trained '
            'with, so one trained on another number of processes or '
            'another batch size has another lr without any change of the '
            'config)') in lr_warning[0]
    assert not any('another total batch' in w for w in warnings)


def test_resume_on_another_process_count_without_auto_scale_lr(
        tmp_path, trained):
    """Without auto_scale_lr the lr is the config's on both sides: the
    warning says the batch changed and the lr is not rescaled to it."""
    cfg, _ = trained
    off = ['--cfg-options', 'auto_scale_lr.enable=False']
    work = tmp_path / 'off'
    run_ranks(
        ['train.py', cfg, '--work-dir', work, '--seed', '0'] + off +
        ['train_cfg.max_epochs=2'],
        2,
        cwd=tmp_path,
        port=free_port(),
        timeout=400)
    log = _resume(cfg, work, tmp_path, *off)
    (warning, ) = _warnings(log)
    assert (' with another total batch: the checkpoint was trained with 8 '
            '(2 processes x 4) and this run has 4 (1 process x 4), so an '
            'epoch takes 2 iterations instead of 1. The lr stays the '
            "checkpoint's 0.05 (base value, before any param_scheduler): "
            'auto_scale_lr is off, so it is not rescaled to this batch.'
            ) in warning
    assert ('keep its total batch of 8 on 1 process (... --resume '
            '--cfg-options train_dataloader.batch_size=8)') in warning


def test_resume_accumulating_the_checkpoints_batch(tmp_path, trained):
    """On 1 process accumulating 2 batches of 4 (the 8 a step saw on 2
    processes): no warning of another total batch (one said "8 (2
    processes x 4) and this run has 4"), only of the auto_scale_lr factor
    MMEngine gives the batch of one iteration, and of the schedule counted
    in iterations, whose epochs take 2 of them now."""
    cfg, work = trained
    log = _resume(cfg, _copy(work, tmp_path, 'accumulated'), tmp_path,
                  '--cfg-options', 'optim_wrapper.accumulative_counts=2')
    (warning, ) = _warnings(log)
    checkpoint = str(tmp_path / 'accumulated' / 'epoch_2.pth')
    assert warning.startswith(
        f'Resuming from {checkpoint} with another auto_scale_lr factor for '
        'the same total batch of 8 (2 processes x 4 there, 1 process x 4, '
        'accumulative_counts=2 here, so an epoch takes 2 iterations instead '
        "of 1): x 1 in the checkpoint's run, x 0.5 in this one."), warning
    assert 'another total batch' not in warning
    assert 'LinearLR (param_scheduler[0]) ends at iteration 1: after epoch ' \
        '1 there, 0.5 here' in warning, warning
