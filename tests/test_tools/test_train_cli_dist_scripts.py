# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What ``tools/dist_train.sh`` and ``tools/dist_test.sh`` hand torchrun:
the launch variables MMAction2's and MMPretrain's scripts honour (``PORT``,
``NNODES``, ``NODE_RANK``, ``MASTER_ADDR``) and the tool itself from a
checkout whose path holds a space. ``PYTHON`` is a script that records its
arguments and ``PYTHONPATH`` instead of starting torchrun."""
import os
import shutil
import subprocess

import pytest
from helpers import TOOLS

LAUNCH_ENV = dict(
    PORT='29555', NNODES='2', NODE_RANK='1', MASTER_ADDR='10.1.2.3')


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
    repo = tmp_path / 'my repo'
    (repo / 'tools').mkdir(parents=True)
    shutil.copy(os.path.join(TOOLS, script), repo / 'tools' / script)
    record = tmp_path / 'argv.txt'
    fake = tmp_path / 'fake_python'
    fake.write_text('#!/usr/bin/env bash\n'
                    f'printf "%s\\n" "$PYTHONPATH" "$@" > "{record}"\n')
    fake.chmod(0o755)
    env = dict(os.environ, PYTHON=str(fake), PYTHONPATH='', **LAUNCH_ENV)
    proc = subprocess.run(
        ['bash', str(repo / 'tools' / script)] + args,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60)
    assert proc.returncode == 0, proc.stdout
    pythonpath, *argv = record.read_text().splitlines()
    assert pythonpath.split(':')[0] == f'{repo}/tools/..'
    assert argv == [
        '-m', 'torch.distributed.run', '--nnodes=2', '--node_rank=1',
        '--master_addr=10.1.2.3', '--nproc_per_node=1', '--master_port=29555',
        f'{repo}/tools/{tool}'
    ] + tool_args
