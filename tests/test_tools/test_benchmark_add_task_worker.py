# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A failed worker of ``benchmark_add_task.py`` ends the tool with one
line naming the row, how the worker ended and what to try.

Before, a worker the kernel's out-of-memory killer ended (SIGKILL: too
many tasks for the machine's memory) ended the tool with a
``subprocess.CalledProcessError`` traceback.
"""
import os
import os.path as osp
import signal
import subprocess
import sys

from process_table import (child_pids, default_stop_signals, is_alive,
                           wait_until_ready)
from repo_paths import REPO_ROOT, TINY_ADAPTFORMER_VIDEO_CONFIG, TOOLS


def test_a_killed_worker_ends_the_tool_on_one_line(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            osp.join(TOOLS, 'analysis_tools', 'benchmark_add_task.py'),
            TINY_ADAPTFORMER_VIDEO_CONFIG, '--tasks'
        ] + ['2'] * 100,
        cwd=REPO_ROOT,
        env=dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(
                p for p in (REPO_ROOT, os.environ.get('PYTHONPATH')) if p),
            OMP_NUM_THREADS='1'),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_stop_signals,
        start_new_session=True)
    try:
        wait_until_ready(proc, lambda: child_pids(proc.pid), 120,
                         'the tool started no worker')
        worker = child_pids(proc.pid)[0]
        os.kill(worker, signal.SIGKILL)  # as the out-of-memory killer does
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1, err[-3000:]
        assert 'Traceback' not in err
        assert err.strip().splitlines()[-1] == (
            'benchmark_add_task.py: the 2-task row failed: its worker '
            'process was killed by SIGKILL, as the kernel ends a process '
            'when memory runs out: if it did, give fewer --tasks')
        assert not is_alive(worker)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
