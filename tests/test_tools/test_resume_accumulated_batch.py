# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Gradient accumulation (``optim_wrapper.accumulative_counts``) multiplies
the batch an optimizer step sees, and the resume's batch record ignored
it: a run trained 1 process x 2 accumulating 2 batches and resumed with a
batch of 4 and no accumulation (the same batch a step sees) was warned of
"another total batch: 2 against 4", and one resumed with the accumulation
dropped (half the batch a step sees) was not warned at all. Real runs of
``tools/train.py``."""
import re
import shutil

import pytest
import torch
from helpers import TINY_VIDEO_CONFIG, run_tool, video_data_cfg, write_config

from mmadaptformer.utils import safe_torch_load

#: Two epochs, a checkpoint each, no validation; the first run trains the
#: first epoch only (--cfg-options train_cfg.max_epochs=1).
RUN = """
val_dataloader = None
val_cfg = None
val_evaluator = None
train_cfg = dict(max_epochs=2)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, eta_min=0.,
                        by_epoch=True, begin=0, end=2)]
default_hooks = dict(checkpoint=dict(interval=1))
train_dataloader['batch_size'] = 2
optim_wrapper = dict(accumulative_counts=2)
"""
RESUME_WARNING = re.compile(r'WARNING - (Resuming from .*)')


def _train(root, tiny_video_data, body=''):
    cfg = write_config(root / 'cfg.py', TINY_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data) + RUN + body)
    work = root / 'work'
    run_tool([
        'train.py', cfg, '--work-dir', work, '--seed', '0', '--cfg-options',
        'train_cfg.max_epochs=1'
    ],
             cwd=root)
    return cfg, work


@pytest.fixture(scope='module')
def accumulated(tmp_path_factory, tiny_video_data):
    """A config and the work dir of its first epoch: 1 process x 2,
    accumulating 2 batches."""
    return _train(tmp_path_factory.mktemp('accumulated'), tiny_video_data)


def _resume(cfg, work, tmp_path, name, *options, record=None):
    copy = tmp_path / name
    shutil.copytree(work, copy)
    (copy / 'last_checkpoint').write_text(str(copy / 'epoch_1.pth'))
    if record is not None:
        checkpoint = safe_torch_load(copy / 'epoch_1.pth', map_location='cpu')
        record(checkpoint['meta']['train_batch'])
        torch.save(checkpoint, copy / 'epoch_1.pth')
    args = ['--cfg-options', *options] if options else []
    log = run_tool(
        ['train.py', cfg, '--work-dir', copy, '--resume'] + args,
        cwd=tmp_path).stdout
    assert 'resumed epoch: 1' in log, log[-3000:]
    return str(copy / 'epoch_1.pth'), RESUME_WARNING.findall(log)


def test_the_same_batch_a_step_sees_is_not_another_batch(
        tmp_path, accumulated):
    """Recorded: accumulative_counts=2. Resumed with a batch of 4 and no
    accumulation (4 a step, as before): no warning of another batch."""
    cfg, work = accumulated
    _, warnings = _resume(cfg, work, tmp_path, 'split',
                          'train_dataloader.batch_size=4',
                          'optim_wrapper.accumulative_counts=1')
    assert warnings == []
    meta = safe_torch_load(work / 'epoch_1.pth', map_location='cpu')['meta']
    assert meta['train_batch']['accumulative_counts'] == 2
    assert meta['train_batch']['batch_size'] == 2


def test_dropping_the_accumulation_alone_is_another_batch(
        tmp_path, accumulated):
    """The same processes and batch of one, no accumulation: half the
    batch a step sees, said with both splits; the advised command resumes
    without the warning."""
    cfg, work = accumulated
    checkpoint, warnings = _resume(cfg, work, tmp_path, 'dropped',
                                   'optim_wrapper.accumulative_counts=1')
    (warning, ) = warnings
    assert warning.startswith(
        f'Resuming from {checkpoint} with another total batch: the '
        'checkpoint was trained with 4 (1 process x 2, '
        'accumulative_counts=2) and this run has 2 (1 process x 2).'), warning
    advised = re.search(
        r'keep its total batch of 4 on 1 process \(\.\.\. --resume '
        r'--cfg-options (optim_wrapper\.accumulative_counts=2)\)', warning)
    assert advised, warning
    _, warnings = _resume(cfg, work, tmp_path, 'advised', advised.group(1))
    assert warnings == []


def test_a_record_without_accumulation_counts_as_one(tmp_path, accumulated):
    """A checkpoint recorded before accumulative_counts was: taken as 1,
    so a resume that accumulates 2 batches is warned of the doubled batch,
    and one that does not is not."""
    cfg, work = accumulated

    def older(record):
        record.pop('accumulative_counts', None)

    checkpoint, warnings = _resume(cfg, work, tmp_path, 'older', record=older)
    (warning, ) = warnings
    assert warning.startswith(
        f'Resuming from {checkpoint} with another total batch: the '
        'checkpoint was trained with 2 (1 process x 2) and this run has 4 '
        '(1 process x 2, accumulative_counts=2).'), warning
    _, warnings = _resume(
        cfg,
        work,
        tmp_path,
        'older_kept',
        'optim_wrapper.accumulative_counts=1',
        record=older)
    assert warnings == []


def test_the_same_batch_in_other_iterations_moves_an_iteration_schedule(
        tmp_path, tiny_video_data):
    """Under a schedule counted in iterations, the same 4 a step sees in
    iterations of 4 instead of 2: said as the same total batch split
    otherwise, with where the schedule ends now."""
    cfg, work = _train(tmp_path, tiny_video_data,
                       'param_scheduler[0]["convert_to_iter_based"] = True\n')
    checkpoint, warnings = _resume(cfg, work, tmp_path, 'iters',
                                   'train_dataloader.batch_size=4',
                                   'optim_wrapper.accumulative_counts=1')
    (warning, ) = warnings
    assert warning.startswith(
        f'Resuming from {checkpoint} with the same total batch of 4 split '
        'otherwise: 1 process x 2, accumulative_counts=2 in the '
        "checkpoint's run, 1 process x 4 in this one, so an epoch takes 2 "
        'iterations instead of 4.'), warning
    assert 'CosineAnnealingLR (param_scheduler[0]) ends at iteration 8: ' \
        'after epoch 2 there, 4 here' in warning, warning
