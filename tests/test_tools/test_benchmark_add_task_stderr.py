# Copyright (c) mmadaptformer contributors. All rights reserved.
"""benchmark_add_task.py passes a worker's stderr on while the worker runs,
not after it ended (a user waiting minutes on 8 ViT-B tasks saw nothing)."""
import json
import os
import stat
import sys

from helpers import load_tool
from stderr_spy import StderrSpy

# A stand-in worker: one warning on stderr, then it waits (20 s at most)
# for the parent to have shown it, and prints its row.
FAKE_WORKER = """#!/bin/sh
echo 'UserWarning: a worker warning' >&2
i=0
while [ ! -e "{marker}" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
[ -e "{marker}" ] || exit 3
echo '{row}'
"""


def test_worker_stderr_is_shown_while_it_runs(tmp_path, monkeypatch):
    tool = load_tool('analysis_tools/benchmark_add_task.py')
    marker = tmp_path / 'shown'
    row = dict(
        tasks=1,
        cpu_s=0.5,
        cpu_s_per_task=[0.5],
        peak_rss_mb=1.0,
        tensor_mb=0.1)
    worker = tmp_path / 'python'
    worker.write_text(FAKE_WORKER.format(marker=marker, row=json.dumps(row)))
    worker.chmod(worker.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(sys, 'executable', str(worker))
    spy = StderrSpy(str(marker), sys.__stderr__)
    monkeypatch.setattr(sys, 'stderr', spy)
    # Before, the warning was written only once the worker had ended, so
    # the worker timed out waiting (exit 3: WorkerError).
    assert tool._measure_in_subprocess(str(tmp_path), 1, 1) == row
    assert spy.text == 'UserWarning: a worker warning\n'
    assert os.path.exists(marker)
