# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The benchmarks' worker processes import the package of the process that
starts them, whatever the working directory holds.

They used to be started as ``python -m MODULE``, which puts the working
directory first on ``sys.path``: run from a folder holding another
``mmadaptformer`` (another checkout, an old copy), the training
benchmark's workers measured that folder's code while the parent printed
the table, and ``tools/gpu_check.sh`` ran that folder's checks.
"""
import os
import os.path as osp

import pytest

from mmadaptformer.benchmark import run_worker
from mmadaptformer.benchmark.gpu_check import run_gpu_check
from mmadaptformer.benchmark.worker_process import worker_command

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_VIDEO = osp.join(REPO, 'configs', 'tiny', 'tiny_adaptformer_video.py')


@pytest.fixture
def decoy_cwd(tmp_path, monkeypatch):
    """The working directory holds an ``mmadaptformer`` whose benchmark
    worker writes ``{"decoy": true}`` to the file after ``--worker-out``
    (and which has no ``gpu_check``)."""
    files = {
        '__init__.py':
        '',
        'benchmark/__init__.py':
        '',
        'benchmark/worker.py':
        'import json, sys\n'
        'out = sys.argv[sys.argv.index("--worker-out") + 1]\n'
        'json.dump({"decoy": True}, open(out, "w"))\n',
    }
    for name, source in files.items():
        path = tmp_path / 'mmadaptformer' / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_benchmark_worker_is_this_package_in_a_decoy_cwd(decoy_cwd):
    result = run_worker([
        TINY_VIDEO, '--batch-size', '2', '--iters', '1', '--warmup', '0',
        '--threads', '1'
    ], 'adaptformer', 'none')
    assert 'decoy' not in result
    assert result['mode'] == 'adaptformer' and result['step_s'] > 0


def test_gpu_check_worker_is_this_package_in_a_decoy_cwd(
        decoy_cwd, clean_loggers):
    result = run_gpu_check([
        '--device', 'cpu', '--checks', 'profile', '--out-dir',
        str(decoy_cwd / 'out'), '--iters', '1', '--warmup', '0'
    ])
    check = result['checks']['profile']
    assert check['status'] == 'passed', check.get('log_tail', check)


def test_worker_command_refuses_a_module_of_another_package():
    with pytest.raises(ValueError, match="got 'os.path'"):
        worker_command('os.path')
    assert os.path.isfile(worker_command('mmadaptformer.x')[3])
