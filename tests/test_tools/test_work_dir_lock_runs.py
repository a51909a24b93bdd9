# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One training run at a time in a work dir: a second ``tools/train.py``
(or ``dist_train.sh``, or the Python API) into a work dir that a live run
trains in is refused before it writes anything there; ``tools/test.py``
there runs; a SIGKILLed run leaves no stale lock.

One live 2-rank DDP run (gloo) serves the module: it stops at epoch 2's
first iteration (after ``epoch_1.pth`` and ``last_checkpoint``) until the
last test lets it go on."""
import hashlib
import os
import os.path as osp
import signal
import sys
import time

import pytest
from config_writers import image_data_cfg, write_config
from helpers import TINY_IMAGE_CONFIG, run_tool, start_ranks, start_tool
from mmengine.config import Config
from refusal_lines import usage_line
from tool_runners import dist_train_refusal, free_port

from mmadaptformer.engine import build_runner
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.work_dir_lock import LOCK_FILE

# Imported by the training processes through the config's custom_imports.
GATE_PROBE = '''
import os
import time

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class GateProbeHook(Hook):
    """At epoch 2's first iteration, rank 0 writes GATE_DIR/waiting and
    waits for GATE_DIR/open (the other ranks wait in the next step)."""

    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        gate = os.environ.get('GATE_DIR')
        if not gate or runner.rank != 0 or (runner.epoch, batch_idx) != (1,
                                                                          0):
            return
        open(os.path.join(gate, 'waiting'), 'w').close()
        while not os.path.exists(os.path.join(gate, 'open')):
            time.sleep(0.05)
'''


def _write_cfg(root, data):
    (root / 'gate_probe.py').write_text(GATE_PROBE)
    return write_config(
        root / 'tiny.py', TINY_IMAGE_CONFIG,
        image_data_cfg(data) +
        "custom_imports = dict(imports=['mmadaptformer', 'gate_probe'], "
        'allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='GateProbeHook')]\n")


def _env(root, **extra):
    paths = [str(root)] + [p for p in [os.environ.get('PYTHONPATH')] if p]
    return dict(extra, PYTHONPATH=os.pathsep.join(paths))


def _wait_at_gate(job, gate, timeout=240):
    deadline = time.monotonic() + timeout
    while not (gate / 'waiting').exists():
        for proc in job:
            assert proc.poll() is None, open(proc.log_path).read()[-4000:]
        assert time.monotonic() < deadline, 'the run never reached epoch 2'
        time.sleep(0.05)


def _md5s(folder):
    """``{path: md5}`` of every file under ``folder``."""
    sums = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                sums[path] = hashlib.md5(f.read()).hexdigest()
    return sums


@pytest.fixture(scope='module')
def live(tmp_path_factory, tiny_image_data):
    root = tmp_path_factory.mktemp('work_dir_lock')
    gate = root / 'gate'
    gate.mkdir()
    cfg = _write_cfg(root, tiny_image_data)
    work = root / 'work'
    logs = [str(root / f'rank{r}.log') for r in range(2)]
    job = start_ranks(['train.py', cfg, '--work-dir', work], 2, root,
                      free_port(), logs, _env(root, GATE_DIR=str(gate)))
    for proc, log in zip(job, logs):
        proc.log_path = log
    try:
        _wait_at_gate(job, gate)
        yield dict(
            root=root,
            cfg=cfg,
            work=work,
            gate=gate,
            job=job,
            holder=f'pid {job[0].pid}@',
            files=_md5s(work))
    finally:
        (gate / 'open').touch()
        for proc in job:
            try:
                proc.wait(120)
            except Exception:
                proc.kill()
                raise


def _refusal_start(work):
    return (f'work_dir {work}: another training run is writing it '
            '(pid ')


@pytest.mark.parametrize('how', ['relative', 'home', 'srun_task'])
def test_second_run_is_refused_before_it_writes(live, how, tmp_path):
    """The same work dir written another way (``./work/``, ``~/work``),
    a ``--resume`` of the live run, a second task of a bare ``srun -n 2``
    (``--launcher none``): exit status 2 on one line naming the live run,
    and every file of the work dir as it was."""
    work, env, cwd = str(live['work']), _env(live['root']), live['root']
    args = ['train.py', live['cfg']]
    if how == 'relative':
        args += ['--work-dir', './work/']
    elif how == 'home':
        env['HOME'] = str(live['root'])
        args += ['--work-dir', '~/work', '--resume']
        cwd = tmp_path
    else:
        env.update(
            SLURM_PROCID='1', SLURM_NTASKS='2', SLURM_STEP_NUM_TASKS='2')
        args += ['--work-dir', work, '--launcher', 'none']
    proc = run_tool(args, cwd=cwd, env=env, check=False)
    line = usage_line(proc)
    assert line.startswith(f'train.py: error: {_refusal_start(work)}'), line
    assert live['holder'] in line
    assert f'{sys.executable} ' in line and 'train.py' in line
    assert 'another work dir' in line
    assert _md5s(work) == live['files']


def test_second_dist_train_is_refused_once(live):
    dist_train_refusal([live['cfg'], '2', '--work-dir', live['work']],
                       live['root'],
                       _refusal_start(live['work']),
                       env=_env(live['root']))
    assert _md5s(live['work']) == live['files']


def test_python_api_is_refused_with_config_error(live, monkeypatch,
                                                 clean_loggers):
    monkeypatch.syspath_prepend(str(live['root']))
    cfg = Config.fromfile(live['cfg'])
    cfg.work_dir = str(live['work']) + os.sep
    runner = build_runner(cfg)
    with pytest.raises(ConfigError) as refused:
        runner.train()
    assert str(refused.value).startswith(_refusal_start(live['work']))
    assert live['holder'] in str(refused.value)
    # Only its own log folder is new.
    new = set(_md5s(live['work'])) - set(live['files'])
    assert new and all(p.startswith(runner.log_dir) for p in new), new
    assert {
        p: s
        for p, s in _md5s(live['work']).items() if p in live['files']
    } == live['files']


def test_test_tool_runs_beside_the_live_run(live):
    """Guards kept behaviour: evaluating a live run's checkpoint in its
    work dir takes no lock and changes none of the run's files."""
    work = live['work']
    run_tool(
        ['test.py', live['cfg'], work / 'epoch_1.pth', '--work-dir', work],
        cwd=live['root'],
        env=_env(live['root']))
    assert {p: s
            for p, s in _md5s(work).items()
            if p in live['files']} == live['files']


def test_live_run_trains_on_and_ends(live):
    (live['gate'] / 'open').touch()
    for proc in live['job']:
        assert proc.wait(120) == 0, open(proc.log_path).read()[-4000:]
    assert (live['work'] / 'epoch_2.pth').is_file()
    # Given back: an empty record, and the lock is free.
    assert (live['work'] / LOCK_FILE).read_bytes() == b''


def test_bare_srun_tasks_then_a_kill(tmp_path, tiny_image_data):
    """``srun -n 2 python tools/train.py CFG``: two runs of one process
    each into one work dir; the second task is refused. The first, killed
    by SIGKILL mid-training, leaves no stale lock: ``--resume`` goes on."""
    gate = tmp_path / 'gate'
    gate.mkdir()
    cfg = _write_cfg(tmp_path, tiny_image_data)
    work = tmp_path / 'work'
    log = str(tmp_path / 'killed.log')
    args = ['train.py', cfg, '--work-dir', work]
    task = dict(SLURM_NTASKS='2', SLURM_STEP_NUM_TASKS='2')
    proc = start_tool(
        args, tmp_path, log,
        _env(tmp_path, GATE_DIR=str(gate), SLURM_PROCID='0', **task))
    proc.log_path = log
    try:
        _wait_at_gate([proc], gate)
        files = _md5s(work)
        second = run_tool(
            args,
            cwd=tmp_path,
            env=_env(tmp_path, SLURM_PROCID='1', **task),
            check=False)
        line = usage_line(second)
        assert f'pid {proc.pid}@' in line, line
        assert _md5s(work) == files
    finally:
        proc.kill()
    assert proc.wait(30) == -signal.SIGKILL
    # Its record is still there; its lock is not.
    assert f'"pid": {proc.pid},' in (work / LOCK_FILE).read_text()
    out = run_tool(['train.py', cfg, '--work-dir', work, '--resume'],
                   cwd=tmp_path,
                   env=_env(tmp_path)).stdout
    assert f'--resume auto: resuming from {work / "epoch_1.pth"}' in out
    assert (work / 'epoch_2.pth').is_file()
