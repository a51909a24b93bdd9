# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--launcher`` given twice with different values, and ``--launcher none``
in a process that torchrun started as one of several, are refused at once,
on one line, exit status 2.

``tools/dist_train.sh CFG 2 --launcher none`` ran ``train.py CFG --launcher
pytorch --launcher none``; argparse keeps the last, so each torchrun worker
trained alone on all the data, both wrote the same ``<timestamp>/`` folder
and ``epoch_N.pth`` at once, and the job ended with status 0. The same with
``dist_test.sh``, and with ``tools/train.py`` under a plain ``torchrun
--nproc_per_node 2`` without ``--launcher``. srun's tasks are not counted:
one process in a step's task is a valid run (see
``test_slurm_refusal_once.py``). Real torchrun processes (gloo, on the
CPU)."""
import os
import subprocess

import pytest
from config_writers import video_data_cfg
from helpers import (TINY_VIDEO_CONFIG, TOOLS, save_stock_video_checkpoint,
                     write_config)
from tool_runners import free_port, run_tool

from mmadaptformer.utils.cli_types import (ToolArgumentParser,
                                           add_launcher_argument)
from mmadaptformer.utils.dist import launcher_env_problem


def _twice_line(tool, first, then):
    return (f'{tool}.py: error: --launcher given twice, {first} then {then}: '
            f'tools/dist_{tool}.sh passes --launcher pytorch itself (tools/'
            f'slurm_{tool}.sh --launcher slurm): give them no --launcher; to '
            f'run one process, run tools/{tool}.py alone, without '
            '--launcher.')


def _several_line(tool, count=2):
    return (f'{tool}.py: error: --launcher none, but this is one of the '
            f'{count} processes that torchrun started (WORLD_SIZE={count}): '
            f'each would {tool} alone on all the data, into the same work '
            f'dir; give tools/{tool}.py --launcher pytorch under torchrun '
            f'(tools/dist_{tool}.sh passes it), or run tools/{tool}.py '
            'without torchrun to run one process.')


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
        env=dict(PORT=str(free_port())),
        timeout=400,
        check=False)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert proc.stdout.count(f'{tool}.py: error:') == 1, proc.stdout[-3000:]
    assert proc.stdout.rstrip().splitlines()[-1] == _twice_line(
        tool, 'pytorch', 'none')
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
        '--nproc_per_node=2', '--master_addr=127.0.0.1',
        f'--master_port={free_port()}',
        os.path.join(TOOLS, 'train.py'), cfg, '--work-dir', 'w'
    ],
                          cwd=tmp_path,
                          env=dict(os.environ, OMP_NUM_THREADS='1'),
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=400)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert _several_line('train') in proc.stdout, proc.stdout[-3000:]
    assert 'Saving checkpoint' not in proc.stdout
    assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize(
    'env, problem',
    [
        (dict(WORLD_SIZE='3'), _several_line('test',
                                             3)[len('test.py: error: '):]),
        # One process in a task of a 4-task srun step: `srun -n 4 --pty
        # bash`, or a sweep packing one run per task. Refused before.
        (dict(SLURM_STEP_NUM_TASKS='4', SLURM_NTASKS='4'), None),
        # One process: torchrun --nproc_per_node 1, a one-task srun step.
        (dict(WORLD_SIZE='1', SLURM_STEP_NUM_TASKS='1'), None),
        # A job's batch script: SLURM_NTASKS of the allocation, no step.
        (dict(SLURM_NTASKS='4'), None),
    ],
    ids=['torchrun', 'srun_task', 'one', 'batch_script'])
def test_launcher_none_among_several_processes(monkeypatch, env, problem):
    for name in ('WORLD_SIZE', 'SLURM_STEP_NUM_TASKS', 'SLURM_NTASKS'):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert launcher_env_problem('none', 'test') == problem


@pytest.mark.parametrize(
    'argv, first, then',
    [
        (['--launcher', 'pytorch', '--launcher', 'none'], 'pytorch', 'none'),
        # slurm_*.sh's form, then an abbreviation argparse accepts.
        (['--launcher=slurm', '--launch', 'none'], 'slurm', 'none'),
        (['--launcher', 'none', '--launcher=pytorch'], 'none', 'pytorch'),
    ],
    ids=['dist_script', 'slurm_script', 'none_first'])
def test_launcher_given_twice_is_refused(capsys, argv, first, then):
    parser = ToolArgumentParser(prog='train.py')
    add_launcher_argument(parser, 'train')
    with pytest.raises(SystemExit) as e:
        parser.parse_args(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.rstrip().splitlines()[-1] == _twice_line('train', first, then)


@pytest.mark.parametrize(
    'argv, launcher',
    [([], 'none'),
     (['--launcher', 'pytorch', '--launcher=pytorch'], 'pytorch')],
    ids=['none_given', 'same_twice'])
def test_launcher_once_or_same_twice_is_kept(argv, launcher):
    """Guards kept behaviour: the default, and the same value twice
    (``dist_train.sh CFG 2 --launcher pytorch``), one launcher either
    way; a parser used again starts afresh."""
    parser = ToolArgumentParser(prog='test.py')
    add_launcher_argument(parser, 'test')
    assert parser.parse_args(argv).launcher == launcher
    assert parser.parse_args(['--launcher', 'none']).launcher == 'none'
