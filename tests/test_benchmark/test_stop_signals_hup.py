# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A hang-up (the terminal closed, an ssh connection dropped: SIGHUP)
stops ``gpu_check.sh`` (and the benchmark tools: ``test_stop_signals.py``)
as SIGTERM does: what it started stops too, and it ends with exit status
129 (128 + SIGHUP).

Before, SIGHUP ended the tool at once, with Python's default action:
``gpu_check.sh``'s checks, which run in sessions of their own, went on
training with ``gpu_check.json`` saying ``running``, and
``benchmark_train.py`` ended without its one line. A signal the tool was
started with ignored stays ignored: ``nohup`` (SIGHUP), a shell script's
background job (Ctrl-C's SIGINT, which the tools used to take anyway).
"""
import fcntl
import json
import os
import os.path as osp
import pty
import select
import signal
import subprocess
import sys
import termios
import time

import pytest
from process_table import (default_stop_signals, left_running_with,
                           pids_running_with, wait_until_ready)
from repo_paths import REPO_ROOT, TOOLS


def _env() -> dict:
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            p for p in (REPO_ROOT, os.environ.get('PYTHONPATH')) if p),
        OMP_NUM_THREADS='1')


def _on_a_terminal() -> None:
    """A ``preexec_fn``: the new session's controlling terminal is the
    pseudo-terminal on stdin, as a login shell's is."""
    default_stop_signals()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _drain(fd: int) -> None:
    """Read what the tool wrote to its terminal, so that it never blocks
    on a full one."""
    while select.select([fd], [], [], 0)[0]:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:  # EIO: the terminal's other side has gone
            return


def test_a_closed_terminal_stops_gpu_check_and_its_checks(tmp_path):
    """The pseudo-terminal the run was started on is closed, as sshd closes
    it when the connection drops: the kernel sends SIGHUP, and writing to
    the terminal fails from then on (the tool's last line is dropped)."""
    out = tmp_path / 'gpu_check'
    master, terminal = pty.openpty()
    proc = subprocess.Popen([
        'bash',
        osp.join(TOOLS, 'gpu_check.sh'), '--device', 'cpu', '--checks',
        'train_video', '--out-dir',
        str(out)
    ],
                            cwd=REPO_ROOT,
                            env=_env(),
                            stdin=terminal,
                            stdout=terminal,
                            stderr=terminal,
                            start_new_session=True,
                            preexec_fn=_on_a_terminal)
    os.close(terminal)
    try:
        # The check's process, and the train.py it runs, hold the out dir.
        deadline = time.time() + 180
        while len(pids_running_with(str(out))) < 3:
            _drain(master)
            assert proc.poll() is None, f'ended {proc.returncode}'
            assert time.time() < deadline, 'the check did not start'
            time.sleep(0.2)
        _drain(master)
        os.close(master)  # the hang-up
        master = None
        assert proc.wait(timeout=60) == 128 + signal.SIGHUP
        assert left_running_with(str(out)) == [], \
            'processes of the check outlived the hung-up gpu_check.sh'
        with open(out / 'gpu_check.json') as f:
            data = json.load(f)
        assert data['status'] == 'interrupted'
        assert data['reason'].startswith(
            'stopped by SIGHUP (its terminal closed) after ')
        assert data['checks']['train_video']['status'] == 'stopped'
    finally:
        if master is not None:
            os.close(master)
        for pid in pids_running_with(str(out)):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
        proc.wait()


IGNORING = '''
import time
from mmadaptformer.utils.stop_signals import exit_on_stop

def main():
    try:
        print('ready', flush=True)
        time.sleep(120)
    finally:
        print('cleanup', flush=True)

exit_on_stop('ignoring.py', main, 'stopped')
'''


@pytest.mark.parametrize('signum', [signal.SIGHUP, signal.SIGINT])
def test_a_signal_ignored_at_the_start_stays_ignored(tmp_path, signum):
    """``nohup tool ... &`` must outlive its terminal, and a script's
    background job must not take the Ctrl-C meant for the script's
    foreground command (bash starts it with SIGINT ignored)."""
    script = tmp_path / 'ignoring.py'
    script.write_text(IGNORING)

    def ignoring():  # as nohup, or bash starting a background job, does
        default_stop_signals()
        signal.signal(signum, signal.SIG_IGN)

    proc = subprocess.Popen([sys.executable, str(script)],
                            env=_env(),
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            text=True,
                            preexec_fn=ignoring)
    try:
        assert proc.stdout.readline().strip() == 'ready'
        proc.send_signal(signum)
        time.sleep(1)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signal.SIGTERM, err
        assert out.strip() == 'cleanup'
        assert err.strip().splitlines()[-1] == \
            'ignoring.py: stopped by SIGTERM: stopped'
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


FAKE_PIP = '''#!/usr/bin/env bash
# This interpreter, except that "-m pip install" of the wheels does nothing.
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then exit 0; fi
exec {python} "$@"
'''


def test_gpu_check_offline_sh_hands_a_hang_up_on(tmp_path):
    """SIGHUP to ``gpu_check_offline.sh`` (its terminal closed) killed the
    script alone: its check runner, a background job, went on with its
    checks, and nothing was copied to RESULTS."""
    wheels, results, temp = (
        tmp_path / name for name in ('wheels', 'results', 'tmp'))
    wheels.mkdir()
    temp.mkdir()
    (wheels / 'stand_in-1.0-py3-none-any.whl').write_bytes(b'')
    python = tmp_path / 'python'
    python.write_text(FAKE_PIP.format(python=sys.executable))
    python.chmod(0o755)
    proc = subprocess.Popen([
        'bash',
        osp.join(TOOLS, 'misc', 'gpu_check_offline.sh'),
        str(wheels),
        str(results), '--device', 'cpu', '--checks', 'train_video'
    ],
                            cwd=REPO_ROOT,
                            env=dict(
                                _env(), PYTHON=str(python), TMPDIR=str(temp)),
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            text=True,
                            preexec_fn=default_stop_signals,
                            start_new_session=True)
    try:
        # The runner, the check's process and its train.py work in TMPDIR.
        wait_until_ready(proc, lambda: len(pids_running_with(str(temp))) >= 3,
                         180, 'the check did not start')
        os.kill(proc.pid, signal.SIGHUP)  # the script's process alone
        out, err = proc.communicate(timeout=90)
        # Handed on as SIGTERM, which the runner ends with.
        assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
        assert left_running_with(str(temp)) == []
        with open(results / 'gpu_check.json') as f:
            data = json.load(f)
        assert data['status'] == 'interrupted'
        assert data['checks']['train_video']['status'] == 'stopped'
        assert (results / 'logs.tar.gz').is_file()
        assert out.strip().splitlines()[-1].startswith(
            f'results in {results}; the whole run in {temp}')
    finally:
        for pid in pids_running_with(str(temp)):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
