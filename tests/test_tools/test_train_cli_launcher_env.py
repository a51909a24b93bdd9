# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--launcher`` without the launcher: tools/train.py and tools/test.py
started by hand with ``--launcher pytorch`` (not through torchrun /
``dist_train.sh``), ``--launcher slurm`` outside a SLURM job step, or
``--launcher mpi`` on a machine without a GPU, end at the command line,
naming the variables and the script that sets them, before a work dir is
made. A real process of each tool."""
import os
import socket

import pytest
import torch
from helpers import (TINY_VIDEO_CONFIG, run_tool, save_stock_video_checkpoint,
                     video_data_cfg, write_config)
from refusal_lines import usage_line

LAUNCHER_ENV = ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT',
                'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')


@pytest.fixture(scope='module')
def video_run(tmp_path_factory, tiny_video_data):
    if any(name in os.environ for name in LAUNCHER_ENV):
        pytest.skip('runs inside a launcher: its variables are set')
    root = tmp_path_factory.mktemp('launcher_env')
    cfg = write_config(root / 'cfg.py', TINY_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    save_stock_video_checkpoint(str(root / 'ckpt.pth'))
    return root, cfg, str(root / 'ckpt.pth')


@pytest.mark.parametrize('tool, launcher, missing, script', [
    ('train.py', 'pytorch', 'RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT',
     'which torchrun sets for each process it starts: start the run with '
     'tools/dist_train.sh'),
    ('test.py', 'pytorch', 'RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT',
     'which torchrun sets for each process it starts: start the run with '
     'tools/dist_test.sh'),
    ('train.py', 'slurm', 'SLURM_PROCID, SLURM_NTASKS, SLURM_NODELIST',
     'which srun sets in a SLURM job step: start the run with '
     'tools/slurm_train.sh'),
])
def test_launcher_without_its_variables_is_a_command_line_error(
        video_run, tool, launcher, missing, script):
    """Before: ``RuntimeError`` (pytorch) and ``KeyError: 'SLURM_PROCID'``
    (slurm) tracebacks, exit status 1, after the config was read."""
    root, cfg, ckpt = video_run
    work_dir = root / f'{tool}_{launcher}'
    args = [tool, cfg] + ([ckpt] if tool == 'test.py' else [])
    proc = run_tool(
        args + ['--launcher', launcher, '--work-dir', work_dir],
        cwd=root,
        check=False)
    usage_line(proc)
    assert (f'{tool}: error: --launcher {launcher} needs the environment '
            f'variables {missing}, {script}; or leave --launcher out to run '
            'one process.') in proc.stdout
    assert not work_dir.exists()


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='mpi is refused without a GPU only')
def test_mpi_launcher_without_a_gpu_is_a_command_line_error(video_run):
    root, cfg, _ = video_run
    proc = run_tool(
        ['train.py', cfg, '--launcher', 'mpi', '--work-dir', root / 'mpi'],
        cwd=root,
        check=False)
    usage_line(proc)
    assert ('train.py: error: --launcher mpi is not supported without a '
            'GPU; use tools/dist_train.sh (--launcher pytorch) or '
            'tools/slurm_train.sh (--launcher slurm).') in proc.stdout
    assert not (root / 'mpi').exists()


def test_pytorch_launcher_with_its_variables_tests(video_run):
    """The variables torchrun would set, given by hand to one process: the
    check lets it through and the test runs as a one-process group."""
    root, cfg, ckpt = video_run
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    proc = run_tool([
        'test.py', cfg, ckpt, '--launcher', 'pytorch', '--work-dir',
        root / 'one_rank'
    ],
                    cwd=root,
                    env=dict(
                        RANK='0',
                        WORLD_SIZE='1',
                        LOCAL_RANK='0',
                        MASTER_ADDR='127.0.0.1',
                        MASTER_PORT=str(port)))
    assert 'Distributed launcher: pytorch' in proc.stdout
    assert 'Epoch(test) [8/8]' in proc.stdout
