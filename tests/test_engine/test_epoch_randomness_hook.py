# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A run SIGKILLed mid-epoch and restarted with ``--resume auto`` trains
exactly like an uninterrupted run: real ``tools/train.py`` processes (one,
or two DDP ranks; the two-rank run resumes through ``dist_train.sh``), real
kills, per-iteration losses compared with tolerance 0.

The killed run is stalled (not slowed) after a chosen iteration of epoch 2 by
a probe hook, so the kill lands mid-epoch at the same point every time; the
probe only sleeps, it changes no state.
"""
import glob
import json
import os
import os.path as osp
import random
import signal
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     image_data_cfg, pretrained_cfg, run_tool,
                     save_stock_video_checkpoint, start_ranks, start_tool,
                     video_data_cfg, write_config)
from mmengine.dataset import DefaultSampler
from mmengine.runner import BaseLoop
from tool_runners import free_port
from torch.utils.data import DataLoader

from mmadaptformer.engine import ADAPTER_META_KEY
from mmadaptformer.engine.hooks.epoch_randomness_hook import (
    SAMPLER_SEED_KEY, EpochRandomnessHook, epoch_seed)
from mmadaptformer.utils import safe_torch_load

STALL_ENV = 'MMADAPTFORMER_TEST_STALL_AT'

# Imported by the training processes through the config's custom_imports.
STALL_PROBE = f'''
import os
import time

from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class StallProbeHook(Hook):
    """Stall after iteration ``{STALL_ENV}=epoch:iter`` until killed."""

    priority = 'LOWEST'  # after the LoggerHook has logged the iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        at = os.environ.get('{STALL_ENV}')
        if not at or (runner.epoch + 1, batch_idx + 1) != tuple(
                int(v) for v in at.split(':')):
            return
        path = os.path.join(runner.work_dir,
                            'stalled_rank%d.pid' % runner.rank)
        with open(path + '.part', 'w') as f:
            f.write(str(os.getpid()))
        os.replace(path + '.part', path)
        while True:
            time.sleep(0.05)
'''


def _probe_cfg(tmp_path, imports=('mmadaptformer', )) -> str:
    """Write the probe module next to the configs; config lines using it."""
    (tmp_path / 'stall_probe.py').write_text(STALL_PROBE)
    return (
        f'custom_imports = dict(imports={list(imports) + ["stall_probe"]!r},'
        ' allow_failed_imports=False)\n'
        # Raw per-iteration losses in the logs (the default smooths
        # over 10 iterations).
        'log_processor = dict(window_size=1)\n')


def _train_args(cfg, work_dir):
    return [
        'train.py',
        str(cfg), '--work-dir',
        str(work_dir), '--seed', '0', '--deterministic'
    ]


def _env(tmp_path, **extra):
    paths = [str(tmp_path)] + [p for p in [os.environ.get('PYTHONPATH')] if p]
    return dict(extra, PYTHONPATH=os.pathsep.join(paths))


def _start(cfg, work_dir, nproc, cwd, env, log_path):
    """Start a training run: ``tools/train.py`` on one process, or its
    ``nproc`` DDP ranks; each process logs to ``<log_path>.<rank>``.

    Returns:
        list: The processes, rank 0 first.
    """
    args = _train_args(cfg, work_dir)
    logs = [f'{log_path}.{rank}' for rank in range(nproc)]
    if nproc == 1:
        job = [start_tool(args, cwd, logs[0], env)]
    else:
        job = start_ranks(args, nproc, cwd, free_port(), logs, env)
    for proc, log in zip(job, logs):
        proc.log_path = log
    return job


def _runs(work_dir):
    """Per-iteration ``{iter: loss}`` of each run in ``work_dir``, oldest
    first, from MMEngine's json scalars logs."""
    runs = []
    for path in sorted(
            glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
        runs.append({r['iter']: r['loss'] for r in records if 'loss' in r})
    return runs


def _log_text(work_dir, index):
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')))
    with open(logs[index]) as f:
        return f.read()


def _tail(path, chars=4000):
    with open(path) as f:
        return f.read()[-chars:]


def _dead(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] in 'ZX'
    except FileNotFoundError:
        return True


def _wait_for_stall(job, work_dir, nproc, stall_line, timeout=240):
    """Poll until epoch 1's checkpoint exists, the log shows ``stall_line``
    (an iteration of epoch 2) and every rank has stalled there."""
    deadline = time.monotonic() + timeout
    pid_files = [work_dir / f'stalled_rank{r}.pid' for r in range(nproc)]
    while time.monotonic() < deadline:
        for rank, proc in enumerate(job):
            if proc.poll() is not None:
                raise AssertionError(
                    f'rank {rank} of the run to be killed exited '
                    f'{proc.returncode} early:\n{_tail(proc.log_path)}')
        logs = glob.glob(str(work_dir / '*' / '*.log'))
        if ((work_dir / 'epoch_1.pth').is_file()
                and (work_dir / 'last_checkpoint').is_file() and logs
                and stall_line in _log_text(work_dir, 0)
                and all(p.is_file() for p in pid_files)):
            return [int(p.read_text()) for p in pid_files]
        time.sleep(0.05)
    raise AssertionError(f'{stall_line!r} never showed up in {work_dir}')


def _kill(job, stalled_pids):
    """SIGKILL every process of the job (each runs in a session of its
    own), as a crash of the machine would end it."""
    assert sorted(stalled_pids) == sorted(p.pid for p in job)
    for proc in job:
        proc.kill()
    for proc in job:
        assert proc.wait(timeout=30) == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while not all(_dead(p) for p in stalled_pids):
        assert time.monotonic() < deadline, 'workers survived SIGKILL'
        time.sleep(0.05)


def _kill_resume_and_compare(tmp_path, cfg, nproc, stall_at, iters, epochs):
    """Run ``cfg`` uninterrupted and, alongside, a run killed at
    ``stall_at``; resume the killed one; compare.

    Returns:
        dict: ``{iter: loss}`` of the uninterrupted run.
    """
    ref_dir, work_dir = tmp_path / 'reference', tmp_path / 'work'
    ref = _start(cfg, ref_dir, nproc, tmp_path, _env(tmp_path),
                 tmp_path / 'reference.out')
    victim = _start(cfg, work_dir, nproc, tmp_path,
                    _env(tmp_path, **{STALL_ENV: stall_at}),
                    tmp_path / 'killed.out')
    try:
        epoch, it = stall_at.split(':')
        stalled = _wait_for_stall(victim, work_dir, nproc,
                                  f'Epoch(train) [{epoch}][{it}/{iters}]')
        _kill(victim, stalled)
        for proc in ref:
            assert proc.wait(timeout=300) == 0, _tail(proc.log_path)
    finally:
        for proc in ref + victim:
            if proc.poll() is None:
                proc.kill()
                proc.wait(60)

    # Killed mid-epoch 2: epoch 1's checkpoint is the last one.
    assert not (work_dir / 'epoch_2.pth').exists()
    assert (work_dir / 'last_checkpoint').read_text().endswith('epoch_1.pth')

    args = _train_args(cfg, work_dir) + ['--resume', 'auto']
    env = _env(tmp_path)
    if nproc > 1:  # as a user restarts the job
        args = ['dist_train.sh', args[1], str(nproc)] + args[2:]
        env['PORT'] = str(free_port())
    run_tool(args, cwd=tmp_path, env=env, timeout=300)
    resumed_log = _log_text(work_dir, -1)
    assert f'resumed epoch: 1, iter: {iters}' in resumed_log
    assert 'Epoch(train) [1]' not in resumed_log

    (reference, ), (killed, resumed) = _runs(ref_dir), _runs(work_dir)
    total = epochs * iters
    assert sorted(reference) == list(range(1, total + 1))
    # Up to the kill the two runs are the same run...
    stalled = iters + int(it)
    assert sorted(killed) == list(range(1, stalled + 1))
    assert killed == {i: reference[i] for i in killed}
    # ...and the resumed run redoes epoch 2 from its start and goes on
    # exactly (tolerance 0) as the uninterrupted run did.
    assert sorted(resumed) == list(range(iters + 1, total + 1))
    assert resumed == {i: reference[i] for i in resumed}
    final = f'epoch_{epochs}.pth'
    a = safe_torch_load(str(ref_dir / final))['state_dict']
    b = safe_torch_load(str(work_dir / final))['state_dict']
    assert a.keys() == b.keys()
    for key in a:
        if torch.is_tensor(a[key]):
            assert torch.equal(a[key], b[key]), key
        else:
            # The frozen-backbone record of an adapter-only checkpoint: the
            # same fingerprints; only the file each was loaded from differs.
            assert {**a[key], 'source': None} == {**b[key], 'source': None}
    return reference


def _image_cfg(tmp_path, data):
    """The tiny image config for 3 epochs of 4 iterations on one process
    (8 images, batch 2), 2 iterations per rank on two."""
    body = image_data_cfg(data).replace(
        'train_dataloader = dict(', 'train_dataloader = dict(batch_size=2, ')
    body += _probe_cfg(tmp_path) + (
        "custom_hooks = [dict(type='StallProbeHook')]\n"
        'train_cfg = dict(max_epochs=3)\n'
        "param_scheduler = [dict(type='CosineAnnealingLR', T_max=3, "
        'eta_min=0., by_epoch=True)]\n')
    return write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG, body)


def test_image_resume_after_sigkill_matches_uninterrupted(
        tmp_path, tiny_image_data):
    # RandomFlip draws from numpy's global generator, whose state MMEngine
    # does not resume.
    reference = _kill_resume_and_compare(
        tmp_path,
        _image_cfg(tmp_path, tiny_image_data),
        nproc=1,
        stall_at='2:2',
        iters=4,
        epochs=3)
    assert len(set(reference.values())) == len(reference)  # it trained


def test_two_process_resume_after_sigkill_matches_uninterrupted(
        tmp_path, tiny_image_data, served_torchrun):
    _kill_resume_and_compare(
        tmp_path,
        _image_cfg(tmp_path, tiny_image_data),
        nproc=2,
        stall_at='2:1',
        iters=2,
        epochs=3)


@pytest.fixture(scope='module')
def stock_video_checkpoint(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('stock') / 'stock.pth')
    save_stock_video_checkpoint(path, seed=0)
    return path


def test_adapter_only_resume_after_sigkill_matches_uninterrupted(
        tmp_path, tiny_video_data, stock_video_checkpoint):
    # The real AdaptFormer config: AdapterHook with adapter-only
    # checkpoints; SampleFrames draws clip offsets from numpy.
    body = (
        video_data_cfg(tiny_video_data).replace(
            'train_dataloader = dict(',
            'train_dataloader = dict(batch_size=2, ') +
        pretrained_cfg(stock_video_checkpoint) + _probe_cfg(tmp_path) +
        "custom_hooks = [dict(type='AdapterHook', extra_trainable=["
        "r'^backbone\\.fc_norm\\.'], adapter_only_checkpoint=True), "
        "dict(type='StallProbeHook')]\n")
    cfg = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       body)
    _kill_resume_and_compare(
        tmp_path, cfg, nproc=1, stall_at='2:2', iters=4, epochs=2)
    ckpt = safe_torch_load(str(tmp_path / 'work' / 'epoch_1.pth'))
    assert ADAPTER_META_KEY in ckpt['meta']  # really adapter-only


class _Loop(BaseLoop):

    def run(self):
        pass


def _runner_with_sampler(seed, resume):
    sampler = DefaultSampler(list(range(8)), shuffle=True, seed=seed)
    runner = SimpleNamespace(_resume=resume, seed=7, epoch=0)
    runner._train_loop = _Loop(
        runner, DataLoader(list(range(8)), batch_size=2, sampler=sampler))
    return runner, sampler


def test_hook_restores_the_sampler_seed_only_when_resuming():
    # With randomness.seed=None (or diff_rank_seed) a restarted run draws a
    # new sampler seed, and so another data order, unless it is resumed.
    hook = EpochRandomnessHook()
    runner, _ = _runner_with_sampler(seed=123, resume=False)
    checkpoint = dict(meta=dict(epoch=1))
    hook.before_save_checkpoint(runner, checkpoint)
    assert checkpoint['meta'][SAMPLER_SEED_KEY] == 123

    runner, sampler = _runner_with_sampler(seed=999, resume=True)
    hook.after_load_checkpoint(runner, checkpoint)
    assert sampler.seed == 123
    # load_from (fine-tuning another run's weights) keeps its own order.
    runner, sampler = _runner_with_sampler(seed=999, resume=False)
    hook.after_load_checkpoint(runner, checkpoint)
    assert sampler.seed == 999


def test_hook_reseeds_every_generator_per_epoch():
    hook = EpochRandomnessHook()
    runner = SimpleNamespace(seed=7, epoch=1)

    def draws():
        hook.before_train_epoch(runner)
        return (random.random(), float(np.random.rand()), float(torch.rand(1)))

    first = draws()
    random.random(), np.random.rand(), torch.rand(3)  # e.g. validation
    assert draws() == first
    runner.epoch = 2
    assert all(a != b for a, b in zip(draws(), first))
    # seed + rank (diff_rank_seed) does not replay a neighbour's epochs.
    assert epoch_seed(7, 2) != epoch_seed(8, 1)
    assert epoch_seed(7, 1) == epoch_seed(7, 1)
