# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``forced_weights_only()`` holds while any thread is inside it.

The switch is PyTorch's ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` environment
variable, i.e. the whole process's. Each use saved and restored it on its
own: a thread that left the scope turned the switch off under another
thread still loading inside it, and that thread's loader (one a user
registered, which asks for ``weights_only=False``) ran a checkpoint's
payload. Real threads, real ``CheckpointLoader`` loads, a real payload.
"""
import os
import threading

import pytest
import torch
from file_server import CodePayload
from mmengine.runner import CheckpointLoader

import mmadaptformer  # noqa: F401
from mmadaptformer.utils import CheckpointLoadError, forced_weights_only

_FORCE = 'TORCH_FORCE_WEIGHTS_ONLY_LOAD'
_FORCE_NO = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'


@pytest.fixture
def schemes():
    """Loader schemes registered by a test, removed afterwards."""
    added = []

    def register(prefix, loader):
        CheckpointLoader.register_scheme(prefix, loader)
        added.append(prefix)

    yield register
    for prefix in added:
        CheckpointLoader._schemes.pop(prefix)


@pytest.mark.parametrize('users_switch', [None, '1'])
def test_a_thread_leaving_does_not_unforce_another_threads_load(
        tmp_path, monkeypatch, schemes, users_switch):
    """Thread A enters, B enters, A leaves while B loads: B's load stays
    forced (before: the payload ran), and the user's environment is as it
    was once both have left."""
    monkeypatch.delenv(_FORCE, raising=False)
    if users_switch is None:
        monkeypatch.delenv(_FORCE_NO, raising=False)
    else:
        # The PyTorch 2.6 workaround users keep in their shells.
        monkeypatch.setenv(_FORCE_NO, users_switch)
    marker = tmp_path / 'PAYLOAD_RAN'
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': CodePayload(marker)}, evil)
    a_inside, b_inside, a_left = (threading.Event() for _ in range(3))

    def slow_loader(filename, map_location=None):
        a_inside.set()
        assert b_inside.wait(30)
        return {'state_dict': {}}

    def careless_loader(filename, map_location=None):
        b_inside.set()
        assert a_left.wait(30)
        # What a user's loader may ask for; the switch must override it.
        return torch.load(evil, weights_only=False)

    schemes('slowa://', slow_loader)
    schemes('careless://', careless_loader)
    outcome = {}

    def run(name, path):
        try:
            outcome[name] = CheckpointLoader.load_checkpoint(path)
        except Exception as e:  # noqa: B902 -- inspected below
            outcome[name] = e

    thread_a = threading.Thread(target=run, args=('a', 'slowa://x'))
    thread_a.start()
    assert a_inside.wait(30)
    thread_b = threading.Thread(target=run, args=('b', 'careless://evil'))
    thread_b.start()
    thread_a.join(30)
    a_left.set()
    thread_b.join(30)
    assert not marker.exists(), 'the payload ran'
    assert outcome['a'] == {'state_dict': {}}
    assert isinstance(outcome['b'], CheckpointLoadError), outcome['b']
    assert 'system' in str(outcome['b'])
    assert os.environ.get(_FORCE) is None
    assert os.environ.get(_FORCE_NO) == users_switch


def test_nested_and_interleaved_scopes_restore_the_first_value(monkeypatch):
    """Guards kept behaviour and the restore: the switch is on while any
    scope is open, and the value from before the first scope comes back
    when the last one closes, whatever order they close in."""
    monkeypatch.setenv(_FORCE, '0')
    monkeypatch.setenv(_FORCE_NO, 'yes')
    outer, inner = forced_weights_only(), forced_weights_only()
    outer.__enter__()
    assert os.environ[_FORCE] == '1' and _FORCE_NO not in os.environ
    inner.__enter__()
    outer.__exit__(None, None, None)  # the first one out, not the last
    assert os.environ[_FORCE] == '1' and _FORCE_NO not in os.environ
    inner.__exit__(None, None, None)
    assert os.environ[_FORCE] == '0'
    assert os.environ[_FORCE_NO] == 'yes'


def test_many_threads_leave_the_switch_as_it_was(monkeypatch):
    """Guards the count under contention: 16 threads entering and leaving
    at once leave the environment as it was before, and each saw the
    switch on inside."""
    monkeypatch.delenv(_FORCE, raising=False)
    monkeypatch.setenv(_FORCE_NO, '1')
    start = threading.Barrier(16)
    seen = []

    def enter_and_leave():
        start.wait(30)
        for _ in range(200):
            with forced_weights_only():
                seen.append(
                    os.environ.get(_FORCE) == '1'
                    and _FORCE_NO not in os.environ)

    threads = [threading.Thread(target=enter_and_leave) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(seen) == 16 * 200 and all(seen)
    assert _FORCE not in os.environ
    assert os.environ[_FORCE_NO] == '1'
