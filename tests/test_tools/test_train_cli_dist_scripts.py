# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What ``tools/dist_train.sh`` and ``tools/dist_test.sh`` hand torchrun:
the launch variables MMAction2's and MMPretrain's scripts honour (``PORT``,
``NNODES``, ``NODE_RANK``, ``MASTER_ADDR``) and the tool itself from a
checkout whose path holds a space. ``PYTHON`` is a script that records its
arguments and ``PYTHONPATH`` instead of starting torchrun. The same for
``tools/slurm_train.sh`` and ``tools/slurm_test.sh``, with ``srun`` in its
place."""
import os
import shutil
import subprocess

import pytest
from helpers import TOOLS

LAUNCH_ENV = dict(
    PORT='29555', NNODES='2', NODE_RANK='1', MASTER_ADDR='10.1.2.3')


def _recorded_launch(tmp_path, script, args, stand_in, env, relative=False):
    """Copy ``script`` into ``tmp_path/my repo/tools`` and run it with
    ``args``; ``stand_in`` (the file the script runs in place of torchrun
    or srun) records its ``PYTHONPATH`` and arguments; ``relative``: run
    as ``tools/SCRIPT`` from the checkout. Returns the repo,
    the recorded ``PYTHONPATH`` and arguments."""
    repo = tmp_path / 'my repo'
    (repo / 'tools').mkdir(parents=True)
    shutil.copy(os.path.join(TOOLS, script), repo / 'tools' / script)
    record = tmp_path / 'argv.txt'
    stand_in.write_text('#!/usr/bin/env bash\n'
                        f'printf "%s\\n" "$PYTHONPATH" "$@" > "{record}"\n')
    stand_in.chmod(0o755)
    proc = subprocess.run(
        [
            'bash',
            f'tools/{script}' if relative else str(repo / 'tools' / script)
        ] + args,
        cwd=repo if relative else tmp_path,
        env=dict(os.environ, PYTHONPATH='', **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60)
    assert proc.returncode == 0, proc.stdout
    pythonpath, *argv = record.read_text().splitlines()
    return repo, pythonpath, argv


@pytest.mark.parametrize('script, args, tool, tool_args', [
    ('dist_train.sh', ['my cfg.py', '1', '--seed', '1'], 'train.py',
     ['my cfg.py', '--launcher', 'pytorch', '--seed', '1']),
    ('dist_test.sh', ['my cfg.py', 'c k.pth', '1', '--dump', 'a b.pkl'
                      ], 'test.py',
     ['my cfg.py', 'c k.pth', '--launcher', 'pytorch', '--dump', 'a b.pkl']),
])
def test_dist_script_in_a_path_with_a_space(script, args, tool, tool_args,
                                            tmp_path):
    """From ``/home/me/my repo/`` the scripts ran torchrun on
    ``/home/me/my`` (``can't open file``) and put ``/home/me/my`` on
    ``PYTHONPATH`` instead of the checkout."""
    fake = tmp_path / 'fake_python'
    repo, pythonpath, argv = _recorded_launch(
        tmp_path, script, args, fake, dict(PYTHON=str(fake), **LAUNCH_ENV))
    # The checkout, absolute, and no empty entry (the working directory).
    assert pythonpath == str(repo)
    assert argv == [
        f'{repo}/tools/misc/dist_run.py', '--nnodes=2', '--node_rank=1',
        '--master_addr=10.1.2.3', '--nproc_per_node=1', '--master_port=29555',
        f'{repo}/tools/{tool}'
    ] + tool_args


@pytest.mark.parametrize('script, args, tool, tool_args', [
    ('slurm_train.sh', ['part', 'job', 'my cfg.py', '--work-dir', 'w d'],
     'train.py', ['my cfg.py', '--launcher=slurm', '--work-dir', 'w d']),
    ('slurm_test.sh',
     ['part', 'job', 'my cfg.py', 'c k.pth', '--dump', 'a b.pkl'], 'test.py',
     ['my cfg.py', 'c k.pth', '--launcher=slurm', '--dump', 'a b.pkl']),
])
def test_slurm_script_in_a_path_with_a_space(script, args, tool, tool_args,
                                             tmp_path):
    """The slurm scripts split the checkout path, the config and every
    argument at their spaces (``$(dirname $0)`` and ``${PY_ARGS}``
    unquoted). ``srun`` is a script on ``PATH`` that records what it is
    given: the SLURM scheduler does not run here."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    repo, pythonpath, argv = _recorded_launch(
        tmp_path, script, args, bin_dir / 'srun',
        dict(
            PATH=f'{bin_dir}:{os.environ["PATH"]}',
            PYTHON='python3',
            GPUS='2',
            GPUS_PER_NODE='2'))
    # The checkout, absolute, and no empty entry (the working directory).
    assert pythonpath == str(repo)
    assert argv == [
        '-p', 'part', '--job-name=job', '--gres=gpu:2', '--ntasks=2',
        '--ntasks-per-node=2', '--cpus-per-task=5', '--kill-on-bad-exit=1',
        'python3', '-u', f'{repo}/tools/{tool}'
    ] + tool_args


@pytest.mark.parametrize('script, args', [
    ('dist_train.sh', ['my cfg.py', '1']),
    ('dist_test.sh', ['my cfg.py', 'c k.pth', '1']),
    ('slurm_train.sh', ['part', 'job', 'my cfg.py']),
    ('slurm_test.sh', ['part', 'job', 'my cfg.py', 'c k.pth']),
])
def test_an_exported_cdpath_leaves_the_checkout_path_whole(
        script, args, tmp_path):
    """Run as ``tools/SCRIPT`` with ``CDPATH`` exported (``.:...``), the
    ``cd tools/..`` that finds the checkout searched ``CDPATH`` and
    printed the folder, so the checkout went on ``PYTHONPATH`` twice, on
    two lines, and was importable from neither."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    stand_in = bin_dir / ('srun' if script.startswith('slurm') else 'py')
    repo, pythonpath, argv = _recorded_launch(
        tmp_path,
        script,
        args,
        stand_in,
        dict(
            LAUNCH_ENV,
            PATH=f'{bin_dir}:{os.environ["PATH"]}',
            PYTHON=str(stand_in),
            CDPATH=f'.:{tmp_path}'),
        relative=True)
    assert pythonpath == str(repo)
    # The record's next line is the first argument, not the path again.
    assert argv[0] in ('-p', 'tools/misc/dist_run.py'), argv
