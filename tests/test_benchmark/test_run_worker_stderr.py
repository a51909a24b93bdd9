# Copyright (c) mmadaptformer contributors. All rights reserved.
"""benchmark_train.py's workers pass their stderr on while they run (as
benchmark_add_task.py's do), not once they ended: a mode's worker that
builds a ViT-B for minutes showed its warnings only at the end, and none
at all when it succeeded."""
import json
import os
import stat
import sys

import pytest
from stderr_spy import StderrSpy

from mmadaptformer.benchmark import WorkerError, run_worker

# A stand-in worker: one warning on stderr, then it waits (20 s at most)
# for the parent to have shown it, and writes its result to --worker-out.
FAKE_WORKER = """#!/bin/sh
out=''
while [ $# -gt 0 ]; do
  [ "$1" = --worker-out ] && out="$2"
  shift
done
echo 'UserWarning: a worker warning' >&2
i=0
while [ ! -e "{marker}" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
[ -e "{marker}" ] || exit 3
{finish}
"""


def _fake_worker(tmp_path, monkeypatch, finish):
    marker = tmp_path / 'shown'
    worker = tmp_path / 'python'
    worker.write_text(FAKE_WORKER.format(marker=marker, finish=finish))
    worker.chmod(worker.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(sys, 'executable', str(worker))
    spy = StderrSpy(str(marker), sys.__stderr__)
    monkeypatch.setattr(sys, 'stderr', spy)
    return marker, spy


def test_worker_stderr_is_shown_while_it_runs(tmp_path, monkeypatch):
    result = dict(mode='adaptformer', iter_s=0.5)
    marker, spy = _fake_worker(tmp_path, monkeypatch,
                               f"echo '{json.dumps(result)}' > \"$out\"")
    # Before, the warning was only captured, so the worker timed out
    # waiting for it to be shown (exit 3: WorkerError).
    assert run_worker([], 'adaptformer', 'none') == result
    assert spy.text == 'UserWarning: a worker warning\n'
    assert os.path.exists(marker)


def test_failed_worker_error_keeps_the_tail(tmp_path, monkeypatch):
    """The WorkerError still names the worker's last line (its error) and
    keeps the end of its output, stdout and stderr."""
    _, spy = _fake_worker(
        tmp_path, monkeypatch, 'echo "building the model"; '
        'echo "RuntimeError: boom" >&2; exit 1')
    with pytest.raises(WorkerError) as e:
        run_worker([], 'full_ft', 'bf16')
    assert str(e.value) == ('the full_ft@bf16 row failed: its worker '
                            'process exited 1: RuntimeError: boom')
    assert 'building the model' in e.value.output
    assert e.value.output.endswith('RuntimeError: boom\n')
    assert spy.text.endswith('RuntimeError: boom\n')


def test_config_error_is_said_once(capfd):
    """Guard of kept behaviour: a worker's config mistake comes back as the
    tool's ConfigError, said once. The worker's stderr is now shown, and
    the worker printed the refusal there too (captured before, so this
    passes on the code before the stderr change as well)."""
    from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG

    from mmadaptformer.utils import ConfigError
    with pytest.raises(ConfigError, match='lrr'):
        run_worker([
            TINY_ADAPTFORMER_VIDEO_CONFIG, '--batch-size', '2', '--iters', '1',
            '--warmup', '0', '--cfg-options', 'optim_wrapper.optimizer.lrr=0.1'
        ], 'linear_probe', 'none')
    assert 'lrr' not in capfd.readouterr().err


# The parent whose stderr is closed (a tool piped into ``head``) runs a
# worker that writes a byte that is no UTF-8, then 4096 lines (256 KiB) to
# stderr, then its result to stdout.
CLOSED_STDERR_PARENT = r'''
import sys
from mmadaptformer.benchmark.worker_process import run_passing_stderr


class Closed:
    def write(self, text):
        raise BrokenPipeError(32, 'Broken pipe')

    def flush(self):
        pass


sys.stderr = Closed()
line = "b'w' * 63 + b'\\n'"
worker = ("import sys; sys.stderr.buffer.write(b'\\xff\\n' + "
          f"({line}) * 4096); sys.stderr.flush(); print('done')")
done = run_passing_stderr([sys.executable, '-c', worker])
print(done.returncode, done.stdout.strip(), len(done.stderr), flush=True)
'''


def test_a_closed_stderr_or_bad_bytes_do_not_hang_the_tool():
    """The thread passing the worker's stderr on died on the first write
    to a closed stderr (or on bytes that are no UTF-8), so nobody read the
    pipe: a worker that wrote more than the pipe holds (64 KiB) blocked,
    and the tool waited for it for ever."""
    import subprocess
    proc = subprocess.run([sys.executable, '-c', CLOSED_STDERR_PARENT],
                          stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE,
                          text=True,
                          timeout=60)
    assert proc.stdout.split() == ['0', 'done',
                                   str(2 + 64 * 4096)], (proc.stdout,
                                                         proc.stderr[-2000:])
