# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The GPU check's ``dist_train.sh`` run takes a free port when its context
names none (a worker started by hand, an older context file): it fell back
to one fixed number, which another run on the machine may hold."""
import socket

import pytest

from mmadaptformer.benchmark.gpu_check import (build_context, check_dist_train,
                                               parse_gpu_check_args,
                                               prepare_workspace)

#: The number the check fell back to before.
FIXED = 29531


@pytest.fixture
def fixed_number_held():
    """Something else listens on the old fixed number (if another process
    already does, that is the same case)."""
    with socket.socket() as other:
        try:
            other.bind(('127.0.0.1', FIXED))
            other.listen()
        except OSError:
            pass
        yield


def test_context_without_port_takes_a_free_one(tmp_path, clean_loggers,
                                               served_torchrun,
                                               fixed_number_held):
    args = parse_gpu_check_args(
        ['--out-dir', str(tmp_path), '--device', 'cpu'])
    ctx = build_context(args, 'cpu',
                        prepare_workspace(str(tmp_path / 'workspace')))
    del ctx['port']
    (tmp_path / 'work').mkdir()
    result = check_dist_train(ctx)
    assert result['status'] == 'passed', result['failures']
    world = [e for e in result['expectations'] if e['name'] == 'world size']
    assert world[0]['measured'] == 1
