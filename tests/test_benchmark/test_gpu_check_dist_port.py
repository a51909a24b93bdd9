# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The GPU check's ``dist_train.sh`` run takes a free port as it runs, unless
its context names one: it fell back to one fixed number (which another run
on the machine may hold), then took one when the context was built, minutes
before the check ran."""
import socket

import pytest

from mmadaptformer.benchmark.gpu_check import (build_context, check_dist_train,
                                               parse_gpu_check_args,
                                               prepare_workspace)
from mmadaptformer.benchmark.gpu_check.commands import free_port

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


@pytest.fixture
def held_port():
    """Hold a port as another job does: bound and listening, until the
    test ends."""
    with socket.socket() as other:

        def hold(port: int) -> int:
            other.bind(('127.0.0.1', port))
            other.listen()
            return port

        yield hold


def test_a_port_taken_after_the_context_is_built(tmp_path, clean_loggers,
                                                 served_torchrun,
                                                 fixed_number_held, held_port):
    """The context took a free port when it was built, and the check ran
    minutes later (after the checks before it), when another job may hold
    it: dist_train.sh refused it. The context names none now, and the
    check takes one that is free as it runs."""
    args = parse_gpu_check_args(
        ['--out-dir', str(tmp_path), '--device', 'cpu'])
    ctx = build_context(args, 'cpu',
                        prepare_workspace(str(tmp_path / 'workspace')))
    # The context's port, or one that was free when it was built.
    taken = held_port(ctx.get('port') or free_port())
    (tmp_path / 'work').mkdir()
    result = check_dist_train(ctx)
    assert result['status'] == 'passed', (taken, result['failures'])
    assert 'port' not in ctx
    world = [e for e in result['expectations'] if e['name'] == 'world size']
    assert world[0]['measured'] == 1


def test_an_exported_port_is_the_users(tmp_path, clean_loggers,
                                       served_torchrun, monkeypatch):
    """A ``PORT`` the user exported (the port their cluster opens, as
    ``dist_train.sh`` reads it) was replaced by a free one of the
    kernel's choice."""
    exported = free_port()
    monkeypatch.setenv('PORT', str(exported))
    args = parse_gpu_check_args(
        ['--out-dir', str(tmp_path), '--device', 'cpu'])
    ctx = build_context(args, 'cpu',
                        prepare_workspace(str(tmp_path / 'workspace')))
    (tmp_path / 'work').mkdir()
    result = check_dist_train(ctx)
    assert result['status'] == 'passed', result['failures']
    log = (tmp_path / 'work' / 'dist_train' / 'dist_train.log').read_text()
    assert f'--master_port={exported}' in log
