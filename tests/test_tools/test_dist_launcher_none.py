# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--launcher none`` in a process that torchrun (or srun) started as one of
several is refused at once, on one line, exit status 2.

``tools/dist_train.sh CFG 2 --launcher none`` ran ``train.py CFG --launcher
pytorch --launcher none``; argparse keeps the last, so each torchrun worker
trained alone on all the data, both wrote the same ``<timestamp>/`` folder
and ``epoch_N.pth`` at once, and the job ended with status 0. The same with
``dist_test.sh``, and with ``tools/train.py`` under a plain ``torchrun
--nproc_per_node 2`` without ``--launcher``. Real torchrun processes (gloo,
on the CPU)."""
import os
import subprocess

import pytest
from config_writers import video_data_cfg
from helpers import (TINY_VIDEO_CONFIG, TOOLS, save_stock_video_checkpoint,
                     write_config)
from tool_runners import run_tool

from mmadaptformer.utils.dist import launcher_env_problem


def _line(tool,
          count=2,
          name='WORLD_SIZE',
          starter='torchrun',
          launcher='pytorch',
          script='dist'):
    return (f'{tool}.py: error: --launcher none, but this is one of the '
            f'{count} processes that {starter} started ({name}={count}): '
            f'each would {tool} alone on all the data, into the same work '
            f'dir; give tools/{script}_{tool}.sh no --launcher (it passes '
            f'--launcher {launcher}), or give tools/{tool}.py --launcher '
            f'{launcher} under {starter}.')


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_dist_script_with_launcher_none_is_refused_once(
        tmp_path, tiny_video_data, served_torchrun, tool):
    """Before: exit status 0, each rank's log said ``Distributed training:
    False`` and ``Saving checkpoint at 1`` came twice, into one folder."""
    cfg = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    args = [cfg, 2]
    if tool == 'test':
        # A checkpoint that is there: the files are checked first.
        save_stock_video_checkpoint(str(tmp_path / 'ckpt.pth'))
        args = [cfg, tmp_path / 'ckpt.pth', 2]
    proc = run_tool(
        [f'dist_{tool}.sh'] + args + ['--launcher', 'none', '--work-dir', 'w'],
        cwd=tmp_path,
        env=dict(PORT='29651' if tool == 'train' else '29653'),
        timeout=400,
        check=False)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert proc.stdout.count(f'{tool}.py: error:') == 1, proc.stdout[-3000:]
    assert proc.stdout.rstrip().splitlines()[-1] == _line(tool)
    assert 'Traceback' not in proc.stdout
    assert not (tmp_path / 'w').exists()


def test_train_under_plain_torchrun_without_launcher_is_refused(
        tmp_path, tiny_video_data, served_torchrun):
    """``torchrun --nproc_per_node 2 tools/train.py CFG``: the same two
    whole trainings before; now each worker refuses (plain torchrun has
    no one to print it once) and torchrun names the refusal as the root
    cause."""
    cfg = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    proc = subprocess.run([
        os.environ['PYTHON'], '-m', 'torch.distributed.run',
        '--nproc_per_node=2', '--master_addr=127.0.0.1', '--master_port=29655',
        os.path.join(TOOLS, 'train.py'), cfg, '--work-dir', 'w'
    ],
                          cwd=tmp_path,
                          env=dict(os.environ, OMP_NUM_THREADS='1'),
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=400)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert _line('train') in proc.stdout, proc.stdout[-3000:]
    assert 'Saving checkpoint' not in proc.stdout
    assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize(
    'env, problem',
    [
        (dict(WORLD_SIZE='3'), _line('test', 3)[len('test.py: error: '):]),
        (dict(SLURM_STEP_NUM_TASKS='2', SLURM_NTASKS='2'),
         _line('test', 2, 'SLURM_STEP_NUM_TASKS', 'srun', 'slurm',
               'slurm')[len('test.py: error: '):]),
        # One process: torchrun --nproc_per_node 1, a one-task srun step.
        (dict(WORLD_SIZE='1', SLURM_STEP_NUM_TASKS='1'), None),
        # A job's batch script: SLURM_NTASKS of the allocation, no step.
        (dict(SLURM_NTASKS='4'), None),
    ],
    ids=['torchrun', 'srun', 'one', 'batch_script'])
def test_launcher_none_among_several_processes(monkeypatch, env, problem):
    for name in ('WORLD_SIZE', 'SLURM_STEP_NUM_TASKS', 'SLURM_NTASKS'):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert launcher_env_problem('none', 'test') == problem
