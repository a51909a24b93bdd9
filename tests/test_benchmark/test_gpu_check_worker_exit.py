# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A check that ends its process (``parser.error`` of a tool function it
calls) gets its own ``error`` result from the GPU check's worker.

The speed checks load their config with the benchmark's
``load_model_config``, which ends with ``parser.error`` (exit status 2)
on a config without a model dict. The worker caught ``Exception`` only, so
the process exited 2 and the runner recorded ``the check process exited 2
without a result`` instead of the message. A real CPU check context
(:func:`prepare_workspace`, :func:`build_context`) is used throughout.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import REPO_ROOT

from mmadaptformer.benchmark.gpu_check import (build_context,
                                               parse_gpu_check_args,
                                               prepare_workspace)
from mmadaptformer.benchmark.gpu_check.worker import exit_result, run_check


@pytest.fixture(scope='module')
def bad_ctx(tmp_path_factory):
    """A CPU check context whose speed config has no model dict; returns
    ``(ctx, config)``. ``gpu_check.sh --speed-config`` refuses such a
    config as its arguments are read, so the context is given it after
    that (as a config changed on disk meanwhile would be)."""
    out = tmp_path_factory.mktemp('gpu_check_exit')
    config = out / 'no_model.py'
    config.write_text('x = 1\n')
    args = parse_gpu_check_args(['--out-dir', str(out), '--device', 'cpu'])
    ctx = build_context(args, 'cpu', prepare_workspace(str(out / 'workspace')))
    ctx['speed']['config'] = str(config)
    return ctx, str(config)


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    return env


def _message(config):
    return (f'benchmark_train.py: error: config {config}: it has no model '
            'dict (model = None); give a model config, such as '
            'configs/tiny/tiny_adaptformer_video.py')


def test_the_worker_records_a_checks_parser_error(bad_ctx, tmp_path):
    """Before: exit status 2 and no result file."""
    ctx, config = bad_ctx
    ctx_path, out = tmp_path / 'context.json', tmp_path / 'profile.json'
    ctx_path.write_text(json.dumps(ctx))
    proc = subprocess.run([
        sys.executable, '-m', 'mmadaptformer.benchmark.gpu_check.worker',
        'profile',
        str(ctx_path),
        str(out)
    ],
                          env=_env(),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result['status'] == 'error'
    assert result['exit_code'] == 2
    assert result['reason'] == f'SystemExit(2): {_message(config)}'
    assert 'load_model_config' in result['traceback']
    assert result['seconds'] > 0
    # Still printed, usage first, for the check's log.
    assert 'usage: benchmark_train.py' in proc.stderr
    assert proc.stderr.index('usage: benchmark_train.py') < \
        proc.stderr.index(_message(config))


def test_run_check_in_process(bad_ctx, capsys):
    """Another check on the same config (the official baseline), in this
    process: the result, and stderr given back afterwards."""
    ctx, config = bad_ctx
    stderr = sys.stderr
    result = run_check('official_baseline', ctx)
    assert sys.stderr is stderr
    assert (result['status'], result['exit_code'], result['reason']) == \
        ('error', 2, f'SystemExit(2): {_message(config)}')
    assert _message(config) in capsys.readouterr().err


@pytest.mark.parametrize('code, printed, status, reason', [
    ('stopped: no data', '', 1, 'stopped: no data'),
    (['not', 'a', 'code'], '', 1, "['not', 'a', 'code']"),
    (None, '', 0, 'nothing was printed'),
    (3, 'a\n\nb\nc\nd\ne\nf\n', 3, 'b\nc\nd\ne\nf'),
    (2, 'usage: x [-h]\nx: error: first\nx: error: bad\n  more\n', 2,
     'x: error: bad\n  more'),
])
def test_exit_result_names_the_status_and_message(code, printed, status,
                                                  reason):
    """``sys.exit(text)`` exits 1 with the text; ``sys.exit()`` 0; else the
    last ``parser.error`` line (and what follows it) or the last lines."""
    assert exit_result(SystemExit(code), printed) == dict(
        status='error',
        exit_code=status,
        reason=f'SystemExit({status}): {reason}')


def test_a_check_stopped_by_sigterm_still_ends_the_worker(bad_ctx, tmp_path):
    """Guard of kept behaviour: the runner's SIGTERM (a check out of time)
    ends the worker with status 143 and no result, even though a check's
    own ``SystemExit`` is now recorded. The check here stands in for a long
    one: it says it started, then sleeps."""
    ctx, _ = bad_ctx
    marker, out = tmp_path / 'started', tmp_path / 'slow.json'
    ctx_path = tmp_path / 'context.json'
    ctx_path.write_text(json.dumps(dict(ctx, marker=str(marker))))
    script = ('import pathlib, sys, time\n'
              'from mmadaptformer.benchmark.gpu_check import CHECKS\n'
              'from mmadaptformer.benchmark.gpu_check import worker\n'
              'def slow(ctx):\n'
              '    pathlib.Path(ctx["marker"]).touch()\n'
              '    time.sleep(300)\n'
              'CHECKS["slow"] = (1, slow, 400)\n'
              f'sys.argv = ["worker", "slow", {str(ctx_path)!r}, '
              f'{str(out)!r}]\n'
              'worker.main()\n')
    proc = subprocess.Popen([sys.executable, '-c', script],
                            env=_env(),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE,
                            text=True)
    try:
        start = time.time()
        while not marker.exists() and proc.poll() is None and \
                time.time() - start < 240:
            time.sleep(0.2)
        assert marker.exists(), proc.stderr.read()[-3000:]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert not out.exists()
