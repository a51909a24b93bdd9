# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The work dir's training lock and the processes a holder forks (its
DataLoader workers): a forked child never keeps the lock, and its closing
of the descriptor it got does not give back its parent's lock. The lock
file's mode is the umask's: a teammate trains on in a work dir a group
shares; a lock file this user cannot write is refused, not advised away."""
import os
import signal
import subprocess
import sys

import pytest
from config_writers import image_data_cfg, write_config
from helpers import TINY_IMAGE_CONFIG
from mmengine.config import Config
from other_user import NOBODY, as_another_user, open_tmp_path  # noqa: F401

from mmadaptformer.engine import build_runner
from mmadaptformer.utils import ConfigError
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


# A child forked in the hold leaves the hold's block as its parent would.
CHILD_LEAVES_THE_BLOCK = '''
import os, sys
from mmadaptformer.utils.work_dir_lock import LOCK_FILE, hold_work_dir
with hold_work_dir(sys.argv[1]):
    open(os.path.join(sys.argv[1], 'epoch_1.pth'), 'w').close()
    child = os.fork()
    if child:
        _, status = os.waitpid(child, 0)
        with open(os.path.join(sys.argv[1], LOCK_FILE)) as f:
            record = f.read()
        print('child exit', os.waitstatus_to_exitcode(status), record[:12])
'''


def test_a_forked_child_leaving_the_block_gives_back_nothing(tmp_path):
    """Neither raises (the child's table is empty) nor empties its parent's
    record."""
    proc = subprocess.run(
        [sys.executable, '-c', CHILD_LEAVES_THE_BLOCK, tmp_path / 'work'],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120)
    assert proc.stdout == 'child exit 0 {"command": \n', proc.stderr[-2000:]


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


@pytest.mark.parametrize('umask', [0o002, 0o022])
def test_the_lock_file_mode_is_the_umasks(tmp_path, umask):
    """As the checkpoints'. (0o022 guards kept behaviour.)"""
    before = os.umask(umask)
    try:
        with hold_work_dir(tmp_path / 'work'):
            (tmp_path / 'work' / 'epoch_1.pth').write_bytes(b'x')
    finally:
        os.umask(before)
    mode = (tmp_path / 'work' / LOCK_FILE).stat().st_mode & 0o777
    assert mode == 0o666 & ~umask


# Trains into a work dir as a member of a group that shares it (umask 002),
# as the user ``sys.argv[2]``.
TEAMMATE = '''
import os, sys
from mmadaptformer.utils.work_dir_lock import hold_work_dir
os.setgroups([4321])
os.setgid(4321)
os.setuid(int(sys.argv[2]))
os.umask(0o002)
with hold_work_dir(sys.argv[1]):
    with open(os.path.join(sys.argv[1], f'epoch_{sys.argv[2]}.pth'), 'w'):
        pass
print('trained', flush=True)
'''


@pytest.mark.skipif(
    os.geteuid() != 0, reason='needs root to become two other users')
def test_a_teammate_trains_on_in_a_group_shared_work_dir(
        open_tmp_path):  # noqa: F811
    shared = os.path.join(open_tmp_path, 'shared')
    os.mkdir(shared)
    os.chown(shared, 0, 4321)
    os.chmod(shared, 0o2775)
    work = os.path.join(shared, 'work')
    for uid in ('5001', '5002'):
        proc = subprocess.run([sys.executable, '-c', TEAMMATE, work, uid],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              text=True,
                              timeout=120)
        assert proc.stdout.endswith('trained\n'), proc.stdout[-2000:]
    lock = os.stat(os.path.join(work, LOCK_FILE))
    assert (lock.st_uid, lock.st_gid, lock.st_mode & 0o777) == (5001, 4321,
                                                                0o664)


@pytest.mark.parametrize('own', [False, True])
def test_a_lock_file_this_user_cannot_write_is_refused(
        own, open_tmp_path):  # noqa: F811
    """It may be a live run's lock: the refusal does not advise removing
    it. As root, the one who cannot write it is ``nobody``."""
    if not own and os.geteuid() != 0:
        pytest.skip('needs root to give the file to another user')
    work = os.path.join(open_tmp_path, 'work')
    os.mkdir(work)
    lock = os.path.join(work, LOCK_FILE)
    with open(lock, 'w') as f:
        f.write('{"pid": 1}')
    os.chmod(lock, 0o444)
    if own and os.geteuid() == 0:
        os.chown(lock, NOBODY, NOBODY)

    def train() -> str:
        try:
            with hold_work_dir(work):
                return 'held'
        except ConfigError as e:
            return str(e)

    refusal = as_another_user(train)
    if own:
        assert refusal.startswith(
            f'work_dir {work}: the training lock file {lock} is this '
            "user's (")
        assert refusal.endswith(
            '), but its mode (0o444) does not let it be opened for writing: '
            f'`chmod u+w {lock}`, or train into another work dir.')
    else:
        assert refusal == (
            f'work_dir {work}: the training lock file {lock} belongs to '
            "'root' (uid 0) and cannot be opened for writing by this user "
            "('nobody' (uid 65534)) (Permission denied): ask its owner to "
            f'let this user write it (`chmod g+w {lock}` where the group '
            'shares the work dir), or train into another work dir.')
    with open(lock) as f:
        assert f.read() == '{"pid": 1}'
