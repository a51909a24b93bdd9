# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Ctrl-C reaches a benchmark worker with its whole process group: one
stopped while it imported the stack printed KeyboardInterrupt's traceback,
which the starting process passed on under its own one-line report. The
worker now ends at once without one, unless it was started with SIGINT
ignored (a background job's), which it keeps."""
import signal
import subprocess
import time

from mmadaptformer.benchmark.worker_process import worker_command


def _interrupted(preexec_fn=None) -> subprocess.CompletedProcess:
    # Torch's import alone takes seconds: the signal comes while it runs.
    proc = subprocess.Popen(
        worker_command('mmadaptformer.benchmark.worker'),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_sigint_while_importing_ends_the_worker_without_a_traceback():
    proc = _interrupted()
    assert proc.returncode == -signal.SIGINT, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    assert 'KeyboardInterrupt' not in proc.stderr


def test_sigint_ignored_at_the_start_stays_ignored():
    proc = _interrupted(
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    # It goes on, and ends as the worker ends without its arguments.
    assert proc.returncode not in (-signal.SIGINT, 128 + signal.SIGINT)
    assert 'KeyboardInterrupt' not in proc.stderr
