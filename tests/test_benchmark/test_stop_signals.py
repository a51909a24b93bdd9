# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Stopping ``benchmark_train.py`` and ``gpu_check.sh`` (SIGTERM to the
tool's process, as ``kill``, ``timeout`` or a batch scheduler sends it;
Ctrl-C) stops the processes they started, and the tool ends with one line.

Before, SIGTERM ended the tool at once and its worker went on measuring
(``benchmark_train.py``), or its check went on training with the JSON
saying ``running`` (``gpu_check.sh``); Ctrl-C ended ``benchmark_train.py``
with a traceback of ``subprocess.communicate``.
"""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from process_table import (child_pids, default_stop_signals, is_alive,
                           left_running_with, pids_running_with,
                           wait_until_ready)
from repo_paths import REPO_ROOT, TINY_ADAPTFORMER_VIDEO_CONFIG, TOOLS

BENCHMARK = osp.join(TOOLS, 'analysis_tools', 'benchmark_train.py')
GPU_CHECK = osp.join(TOOLS, 'analysis_tools', 'gpu_check.py')


def _env() -> dict:
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            p for p in (REPO_ROOT, os.environ.get('PYTHONPATH')) if p),
        OMP_NUM_THREADS='1')


def _wait_for_child(proc: subprocess.Popen, timeout: float = 120) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        children = child_pids(proc.pid)
        if children:
            return children[0]
        time.sleep(0.2)
    raise AssertionError('the tool started no worker process')


def _start(cmd: list, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_stop_signals,
        **kwargs)


def _stop_all(proc: subprocess.Popen, worker: int) -> None:
    for pid in (worker, proc.pid):
        if is_alive(pid):
            os.kill(pid, signal.SIGKILL)
    proc.communicate()


@pytest.fixture
def endless_benchmark(tmp_path):
    """``benchmark_train.py`` on the tiny config with more steps than a
    test waits for, its worker pid once that runs."""
    proc = _start([
        sys.executable, BENCHMARK, TINY_ADAPTFORMER_VIDEO_CONFIG, '--iters',
        '1000000', '--threads', '1', '--out',
        str(tmp_path / 'out.json')
    ],
                  start_new_session=True)
    worker = _wait_for_child(proc)
    yield proc, worker
    _stop_all(proc, worker)


def _worker_ends(worker: int, within: float = 30) -> bool:
    deadline = time.time() + within
    while time.time() < deadline:
        if not is_alive(worker):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize('signum, cause', [
    (signal.SIGTERM, 'SIGTERM'),
    (signal.SIGHUP, 'SIGHUP (its terminal closed)'),
])
def test_sigterm_stops_the_benchmark_worker(endless_benchmark, tmp_path,
                                            signum, cause):
    """SIGHUP (the terminal closed) ended the tool at once, without its
    line, as SIGTERM did before."""
    proc, worker = endless_benchmark
    os.kill(proc.pid, signum)  # the tool's process alone
    _, err = proc.communicate(timeout=60)
    assert _worker_ends(worker), 'the worker outlived the stopped tool'
    assert proc.returncode == 128 + signum
    last = err.strip().splitlines()[-1]
    assert last.startswith(f'benchmark_train.py: stopped by {cause}: ')
    assert 'no --out or --plot written' in last
    assert 'Traceback' not in err
    assert not (tmp_path / 'out.json').exists()


def test_ctrl_c_ends_the_benchmark_on_one_line(endless_benchmark):
    proc, worker = endless_benchmark
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT
    assert _worker_ends(worker)
    assert 'Traceback' not in err
    assert err.strip().splitlines()[-1].startswith(
        'benchmark_train.py: stopped by Ctrl-C (SIGINT): ')


def test_sigterm_to_gpu_check_sh_stops_its_checks(tmp_path):
    out = tmp_path / 'gpu_check'
    proc = _start([
        'bash',
        osp.join(TOOLS, 'gpu_check.sh'), '--device', 'cpu', '--checks',
        'train_video', '--out-dir',
        str(out)
    ],
                  start_new_session=True)
    try:
        # The check's process, and the train.py it runs, hold the out dir.
        wait_until_ready(proc, lambda: len(pids_running_with(str(out))) >= 3,
                         120, 'the check did not start')
        os.kill(proc.pid, signal.SIGTERM)  # the script's process alone
        _, err = proc.communicate(timeout=60)
        assert left_running_with(str(out)) == [], \
            'processes of the check outlived the stopped gpu_check.sh'
        assert proc.returncode == 128 + signal.SIGTERM
        assert err.strip().splitlines()[-1].startswith(
            'gpu_check.sh: stopped by SIGTERM: ')
        with open(out / 'gpu_check.json') as f:
            data = json.load(f)
        assert data['status'] == 'interrupted'
        assert data['checks']['train_video']['status'] == 'stopped'
        assert 'interrupted' in (out / 'summary.txt').read_text()
    finally:
        for pid in pids_running_with(str(out)):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='tests a machine without a GPU')
def test_gpu_check_device_cuda_without_gpu_is_one_line(tmp_path):
    proc = subprocess.run([
        'bash',
        osp.join(TOOLS, 'gpu_check.sh'), '--device', 'cuda', '--out-dir',
        str(tmp_path / 'out')
    ],
                          cwd=REPO_ROOT,
                          env=_env(),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 2
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        'gpu_check.sh: error: --device cuda, but torch.cuda.is_available() '
        'is False on this machine: leave --device out (auto) to be told so '
        'with exit status 0, or give --device cpu to run the checks that '
        'run on a CPU')
    assert not (tmp_path / 'out').exists()


def test_a_killed_worker_ends_the_benchmark_on_one_line(endless_benchmark):
    """The kernel's out-of-memory killer ends a worker with SIGKILL (a
    batch too big for memory); the tool ended with its own traceback and a
    RuntimeError whose message was the worker's last log lines, which did
    not say what happened."""
    proc, worker = endless_benchmark
    os.kill(worker, signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.strip().splitlines()[-1] == (
        'benchmark_train.py: the adaptformer row failed: its worker '
        'process was killed by SIGKILL, as the kernel ends a process when '
        'memory runs out: if it did, give a smaller --batch-size (or '
        '--num-frames, --img-size)')
    assert 'Traceback' not in err


def test_worker_error_names_the_error_and_advice():
    from mmadaptformer.benchmark import WorkerError
    output = ('12/06 08:25:59 - mmengine - INFO - AdapterHook: ...\n'
              'Traceback (most recent call last):\n  File "x.py"\n'
              'RuntimeError: [enforce fail at alloc_cpu.cpp:127] err == 0. '
              "DefaultCPUAllocator: can't allocate memory: you tried to "
              'allocate 983040000 bytes.\n\n')
    error = WorkerError('adaptformer@bf16', 1, output)
    assert str(error) == (
        'the adaptformer@bf16 row failed: its worker process exited 1: '
        'RuntimeError: [enforce fail at alloc_cpu.cpp:127] err == 0. '
        "DefaultCPUAllocator: can't allocate memory: you tried to allocate "
        '983040000 bytes.; give a smaller --batch-size (or --num-frames, '
        '--img-size)')
    assert error.output == output
    error = WorkerError('full_ft', 1, 'ValueError: a bug\n')
    assert str(error) == ('the full_ft row failed: its worker process '
                          'exited 1: ValueError: a bug')
    assert 'printed nothing' in str(WorkerError('full_ft', 1, ''))


def _files_under(folder) -> list:
    return [
        osp.join(root, name) for root, _, names in os.walk(folder)
        for name in names
    ]


@pytest.mark.parametrize('tool, argv, signum', [
    ('benchmark_infer.py', ['--repeat', '1000000', '--tasks', '1'
                            ], signal.SIGTERM),
    ('benchmark_add_task.py', ['--tasks'] + ['1'] * 100, signal.SIGTERM),
    ('benchmark_add_task.py', ['--tasks'] + ['1'] * 100, signal.SIGHUP),
])
def test_sigterm_removes_the_temporary_checkpoints(tool, argv, signum,
                                                   tmp_path):
    """``benchmark_infer.py`` and ``benchmark_add_task.py`` write a
    backbone and task checkpoints into a temporary folder; SIGTERM left it
    behind (and ``benchmark_add_task.py``'s worker running), and so did
    SIGHUP (the terminal closed)."""
    temp = tmp_path / 'temp'
    temp.mkdir()
    proc = subprocess.Popen(
        [
            sys.executable,
            osp.join(TOOLS, 'analysis_tools', tool),
            TINY_ADAPTFORMER_VIDEO_CONFIG, '--out',
            str(tmp_path / 'out.json')
        ] + argv,
        cwd=REPO_ROOT,
        env=dict(_env(), TMPDIR=str(temp)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_stop_signals,
        start_new_session=True)
    try:

        def written():
            return any(f.endswith('.pth') for f in _files_under(temp)) and (
                tool != 'benchmark_add_task.py' or child_pids(proc.pid))

        wait_until_ready(proc, written, 120, 'no checkpoint was written')
        children = child_pids(proc.pid)
        os.kill(proc.pid, signum)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signum, err[-3000:]
        assert _files_under(temp) == []
        assert all(_worker_ends(pid) for pid in children)
        assert err.strip().splitlines()[-1].startswith(
            f'{tool}: stopped by {signal.Signals(signum).name}')
        assert not (tmp_path / 'out.json').exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()


SLOW_CLEANUP = '''
import os, subprocess, sys, time
from mmadaptformer.utils.stop_signals import exit_on_stop

def main():
    children = [subprocess.Popen(['sleep', '120'], start_new_session=True)
                for _ in range(3)]
    try:
        # Inside the try: a stop right after the line runs the cleanup.
        print(' '.join(str(c.pid) for c in children), flush=True)
        time.sleep(120)
    finally:
        print('cleanup', flush=True)
        for child in children:  # each stop takes a while, as a real one
            time.sleep(1)
            child.kill()
            child.wait()

exit_on_stop('slow.py', main, 'stopped')
'''


@pytest.mark.parametrize('signum',
                         [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_second_stop_does_not_cut_the_cleanup_short(tmp_path, signum):
    """Ctrl-C pressed twice, or a scheduler's resent SIGTERM: the second
    signal raised inside the first one's cleanup and left the processes
    of other sessions (the GPU checks) running."""
    script = tmp_path / 'slow.py'
    script.write_text(SLOW_CLEANUP)
    proc = subprocess.Popen([sys.executable, str(script)],
                            env=_env(),
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            text=True,
                            preexec_fn=default_stop_signals)
    children = [int(pid) for pid in proc.stdout.readline().split()]
    try:
        proc.send_signal(signum)
        assert proc.stdout.readline().strip() == 'cleanup'
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signum, err
        assert not [pid for pid in children if is_alive(pid)]
    finally:
        for pid in children:
            if is_alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
