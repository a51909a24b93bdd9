# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The work dir's training lock and the processes a holder forks (its
DataLoader workers): a forked child never keeps the lock, and its closing
of the descriptor it got does not give back its parent's lock."""
import os
import signal
import subprocess
import sys

import pytest
from config_writers import image_data_cfg, write_config
from helpers import TINY_IMAGE_CONFIG
from mmengine.config import Config

from mmadaptformer.engine import build_runner
from mmadaptformer.utils.work_dir_lock import (LOCK_FILE, WorkDirBusyError,
                                               hold_work_dir)

# Holds the work dir and forks a child that outlives it (a persistent
# DataLoader worker whose run was SIGKILLed); the child tries the lock
# itself, then waits until it is killed.
FORKING_HOLDER = '''
import os, sys, time
from mmadaptformer.utils.work_dir_lock import WorkDirBusyError, hold_work_dir


def say(line):
    os.write(1, f'{line}\\n'.encode())  # one write: lines never interleave


with hold_work_dir(sys.argv[1]):
    child = os.fork()
    if child == 0:
        try:
            with hold_work_dir(sys.argv[1]):
                say('child held')
        except WorkDirBusyError as e:
            say(f'child refused: {e}')
        while True:
            time.sleep(1)
    say(f'parent {os.getpid()} child {child}')
    sys.stdin.read()
'''


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_forked_child_does_not_keep_the_lock(tmp_path):
    work = tmp_path / 'work'
    holder = subprocess.Popen([sys.executable, '-c', FORKING_HOLDER, work],
                              stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE,
                              text=True)
    child = None
    try:
        lines = sorted([holder.stdout.readline(), holder.stdout.readline()])
        assert lines[1].startswith('parent '), lines
        _, parent, _, child = lines[1].split()
        parent, child = int(parent), int(child)
        # Its closing of its copy left the parent's lock held.
        with pytest.raises(WorkDirBusyError, match=f'pid {parent}@'):
            with hold_work_dir(work):
                pass
        holder.kill()  # SIGKILL: the child lives on, an orphan
        holder.wait()
        assert _alive(child)
        # Reaped: the kernel closed the holder's files before.
        with hold_work_dir(work):
            assert (work / LOCK_FILE).read_text().startswith('{"command": ')
        # The child held nothing: it was refused as any other process.
        assert lines[0].startswith(f'child refused: work_dir {work}: '
                                   'another training run is writing it '
                                   f'(pid {parent}@'), lines
    finally:
        holder.kill()
        holder.wait()
        if child is not None and _alive(child):
            os.kill(child, signal.SIGKILL)


def test_a_sweep_with_persistent_workers_resumes_in_its_work_dir(
        tmp_path, tiny_image_data, clean_loggers):
    """``build_runner(cfg).train()`` twice in one process into one work dir,
    the second resuming the first: the first run's persistent DataLoader
    worker, still alive, refused it (``record ... cannot be read``)."""
    path = write_config(
        tmp_path / 'tiny.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        'val_cfg = None\nval_dataloader = None\nval_evaluator = None\n'
        'train_dataloader.update(num_workers=1, persistent_workers=True)\n')
    runners = []
    for epochs, resume in ((1, False), (2, True)):
        cfg = Config.fromfile(path)
        cfg.work_dir = str(tmp_path / 'work')
        cfg.train_cfg.max_epochs = epochs
        cfg.resume = resume
        assert cfg.train_dataloader.persistent_workers
        runners.append(build_runner(cfg))
        runners[-1].train()
    assert runners[1].epoch == 2
    assert runners[1].iter == 2 * runners[0].iter
    assert (tmp_path / 'work' / 'epoch_2.pth').is_file()
