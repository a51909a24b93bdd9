# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``dist_train.sh`` / ``dist_test.sh`` on a PORT another job listens on
stop at once, naming the port and the variable to set.

Two jobs on one machine both take the default ``PORT=29500``: the second
started torchrun, which failed with ``torch.distributed.DistNetworkError:
The server socket has failed to listen on any local network address.
port: 29500, useIpv6: false, code: -98, name: EADDRINUSE`` in a
traceback, after its imports."""
import os
import socket
import subprocess

import pytest
from helpers import TINY_VIDEO_CONFIG, TOOLS


@pytest.mark.parametrize('script,args', [
    ('dist_train.sh', [TINY_VIDEO_CONFIG, '2']),
    ('dist_test.sh', [TINY_VIDEO_CONFIG, 'epoch_1.pth', '2']),
])
def test_port_in_use_is_named_before_torchrun(tmp_path, script, args):
    with socket.socket() as other_job:
        other_job.bind(('127.0.0.1', 0))
        other_job.listen()
        port = other_job.getsockname()[1]
        proc = subprocess.run(
            ['bash', os.path.join(TOOLS, script)] + args,
            cwd=tmp_path,
            env=dict(os.environ, PORT=str(port)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == (
        f'{script}: PORT {port} is in use on this machine (another job?); '
        f'set PORT to a free one, e.g. PORT={port + 1} '
        f'{os.path.join(TOOLS, script)} ...')


@pytest.mark.parametrize('script,args', [
    ('dist_train.sh', [TINY_VIDEO_CONFIG, '2']),
    ('dist_test.sh', [TINY_VIDEO_CONFIG, 'epoch_1.pth', '2']),
])
@pytest.mark.parametrize('port', ['29x00', '0', '70000', '-1'])
def test_a_port_that_is_no_number_is_named_as_such(tmp_path, script, args,
                                                   port):
    """Before, the port check took any PORT it could not bind to for one
    in use: ``PORT=29x00`` was "in use ... e.g. PORT=1"."""
    proc = subprocess.run(
        ['bash', os.path.join(TOOLS, script)] + args,
        cwd=tmp_path,
        env=dict(os.environ, PORT=port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == (
        f'{script}: PORT must be a port number from 1 to 65535, got '
        f"'{port}'")
