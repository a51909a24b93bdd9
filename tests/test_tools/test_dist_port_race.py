# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Two ``dist_train.sh`` jobs started together on one PORT both pass
``tools/misc/dist_port.sh``'s check; the second's torchrun then failed to
listen on the port, in a traceback of about 40 lines ending in
``DistNetworkError: ... code: -98, name: EADDRINUSE``. Its launcher
(``tools/misc/dist_run.py``) now prints the check's one line instead, exit
status 2. The race is made certain here: a real listener holds the port
while the launcher, as the scripts start it, runs past the check."""
import importlib.util
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
from helpers import TINY_VIDEO_CONFIG, TOOLS
from torch.distributed import DistNetworkError

LAUNCHER = osp.join(TOOLS, 'misc', 'dist_run.py')


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_port_taken_after_the_check_is_one_line(tmp_path, tool):
    with socket.socket() as other_job:
        other_job.bind(('127.0.0.1', 0))
        other_job.listen()
        port = other_job.getsockname()[1]
        proc = subprocess.run([
            sys.executable, LAUNCHER, '--nnodes=1', '--node_rank=0',
            '--master_addr=127.0.0.1', '--nproc_per_node=2',
            f'--master_port={port}',
            osp.join(TOOLS, f'{tool}.py'), TINY_VIDEO_CONFIG
        ],
                              cwd=tmp_path,
                              env=dict(os.environ, OMP_NUM_THREADS='1'),
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              text=True,
                              timeout=120)
    assert proc.returncode == 2, proc.stdout[-3000:]
    # The line dist_port.sh prints for a port in use when it checks.
    assert proc.stdout.strip().splitlines() == [
        f'dist_{tool}.sh: PORT {port} is in use on this machine (another '
        f'job?); set PORT to a free one, e.g. PORT={port + 1} '
        f'{osp.join(TOOLS, f"dist_{tool}.sh")} ...'
    ], proc.stdout[-3000:]


def test_kept_behaviour_other_network_errors_are_not_taken_for_it():
    """Kept behaviour: another ``DistNetworkError`` (a node that cannot
    reach node 0) is torchrun's, traceback included."""
    spec = importlib.util.spec_from_file_location('dist_run', LAUNCHER)
    dist_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dist_run)
    error = DistNetworkError('failed to connect to 10.0.0.1:29500: '
                             'connection refused')
    argv = ['--master_port=29500', osp.join(TOOLS, 'train.py'), 'cfg.py']
    assert dist_run.report_port_in_use(error, argv) is False
