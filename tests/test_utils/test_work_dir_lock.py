# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The work dir's training lock (:func:`hold_work_dir`) and the runners'
``train()``, which holds it: one process holds a work dir once however its
path is written, another process is refused with the holder named, the
lock is given back when training ends however it ends, a runner built to
test takes none, and a filesystem without ``flock`` trains with one
warning. ``tests/test_tools/test_work_dir_lock_runs.py`` runs the tools."""
import errno
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys

import pytest
from config_writers import image_data_cfg, write_config
from helpers import TINY_IMAGE_CONFIG
from mmengine.config import Config
from mmengine.hooks import Hook
from tool_runners import free_port, run_ranks

from mmadaptformer.engine import build_runner
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils import work_dir_lock as lock_module
from mmadaptformer.utils.work_dir_lock import (LOCK_FILE, WorkDirBusyError,
                                               hold_work_dir)

# Another process holding the lock: the record a training run writes.
HOLDER = '''
import fcntl, json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, json.dumps(dict(pid=os.getpid(), host='node7',
    since='2026-12-07 09:00:00 UTC', command='python tools/train.py x.py'
)).encode())
print('held', flush=True)
sys.stdin.read()
'''


def _held(work_dir) -> bool:
    """Whether a process holds the lock: an own open of the file (a lock
    of another open file description conflicts, in this process too)."""
    fd = os.open(os.path.join(work_dir, LOCK_FILE), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@pytest.fixture
def other_holder(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    proc = subprocess.Popen(
        [sys.executable, '-c', HOLDER,
         str(work / LOCK_FILE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True)
    try:
        assert proc.stdout.readline() == 'held\n'
        yield work, proc
    finally:
        proc.kill()
        proc.wait()


def test_one_hold_however_the_path_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('HOME', str(tmp_path))
    (tmp_path / 'link').symlink_to(tmp_path / 'work')
    with hold_work_dir('work'):
        record = json.loads((tmp_path / 'work' / LOCK_FILE).read_text())
        assert record['pid'] == os.getpid()
        assert record['host'] == socket.gethostname()
        assert sys.argv[0] in record['command']
        for same in (f'{tmp_path}/work/', '~/work', './link'):
            with hold_work_dir(same):
                assert _held('work')
            # Still held: the first holder has not ended.
            assert _held('work')
    # Nothing else was written there: the folder it made is removed.
    assert not (tmp_path / 'work').exists()


def test_given_back_with_an_empty_record_where_a_run_wrote(tmp_path):
    work = tmp_path / 'work'
    with hold_work_dir(work):
        (work / 'epoch_1.pth').write_bytes(b'x')
    assert not _held(work)
    assert (work / LOCK_FILE).read_bytes() == b''
    # An empty folder given is kept, without the lock file.
    empty = tmp_path / 'empty'
    empty.mkdir()
    with hold_work_dir(empty):
        assert _held(empty)
    assert os.listdir(empty) == []


def test_another_process_is_refused_and_nothing_written(other_holder):
    work, holder = other_holder
    before = (work / LOCK_FILE).read_bytes()
    with pytest.raises(ConfigError) as refused:
        with hold_work_dir(str(work) + '/'):
            pass
    assert isinstance(refused.value, WorkDirBusyError)
    assert str(refused.value) == (
        f'work_dir {work}: another training run is writing it '
        f'(pid {holder.pid}@node7, training since 2026-12-07 09:00:00 UTC: '
        'python tools/train.py x.py); two runs would write over each '
        'other\'s checkpoints and last_checkpoint. Wait for it to end or '
        'stop it (--resume goes on from its checkpoints once it has ended; '
        'resuming it while it runs would race it), or train into another '
        'work dir.')
    assert (work / LOCK_FILE).read_bytes() == before
    assert os.listdir(work) == [LOCK_FILE]
    # The kernel drops the lock with its process.
    holder.kill()
    holder.wait()
    with hold_work_dir(work):
        assert _held(work)


@pytest.mark.parametrize('planted', ['link', 'folder'])
def test_a_planted_lock_file_is_refused(tmp_path, planted):
    """A link there would have the run truncate and write the file it
    names."""
    work = tmp_path / 'work'
    work.mkdir()
    victim = tmp_path / 'precious.txt'
    victim.write_text('precious')
    if planted == 'link':
        (work / LOCK_FILE).symlink_to(victim)
        why = 'it is a symbolic link'
    else:
        (work / LOCK_FILE).mkdir()
        why = 'it is a folder'
    with pytest.raises(ConfigError) as refused:
        with hold_work_dir(work):
            pass
    assert str(refused.value) == (
        f'work_dir {work}: {work / LOCK_FILE} cannot be this run\'s '
        f'training lock file ({why}): remove it, or train into another '
        'work dir.')
    assert victim.read_text() == 'precious'


def test_no_flock_trains_with_one_warning(tmp_path, monkeypatch, log_records):

    def no_flock(fd, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(lock_module.fcntl, 'flock', no_flock)
    with hold_work_dir(tmp_path / 'work'):
        with hold_work_dir(tmp_path / 'work'):  # the runner's share
            pass
    warnings = [r.getMessage() for r in log_records]
    assert warnings == [
        f'work_dir {tmp_path}/work: its filesystem does not support file '
        f'locks (flock: {os.strerror(errno.ENOLCK)}), so another training '
        'run into this work dir at the same time cannot be detected here: '
        'make sure none is running.'
    ]
    assert log_records[0].levelname == 'WARNING'


def test_other_flock_errors_are_raised(tmp_path, monkeypatch):

    def failing(fd, operation):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(lock_module.fcntl, 'flock', failing)
    with pytest.raises(OSError, match='Input/output error'):
        with hold_work_dir(tmp_path / 'work'):
            pass


class _Probe(Hook):
    """Records whether the lock is held at the first iteration; raises
    ``error`` there if given."""

    def __init__(self, error=None):
        self.error = error
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen.append(_held(runner.work_dir))
        if self.error is not None:
            raise self.error


def _runner(tmp_path, tiny_image_data, work='work'):
    cfg = Config.fromfile(
        write_config(
            tmp_path / 'tiny.py', TINY_IMAGE_CONFIG,
            image_data_cfg(tiny_image_data) +
            'train_cfg = dict(max_epochs=1)\nval_cfg = None\n'
            'val_dataloader = None\nval_evaluator = None\n'))
    cfg.work_dir = str(tmp_path / work)
    return build_runner(cfg)


def test_train_twice_in_one_process(tmp_path, tiny_image_data, clean_loggers):
    """A sweep calling ``build_runner(cfg).train()`` in a loop: each run
    holds the lock while it trains and gives it back."""
    for _ in range(2):
        runner = _runner(tmp_path, tiny_image_data)
        probe = _Probe()
        runner.register_hook(probe)
        runner.train()
        assert probe.seen and all(probe.seen)
        assert not _held(runner.work_dir)


@pytest.mark.parametrize('error', [KeyboardInterrupt, RuntimeError])
def test_given_back_when_training_fails(tmp_path, tiny_image_data, error,
                                        clean_loggers):
    runner = _runner(tmp_path, tiny_image_data)
    probe = _Probe(error('stop'))
    runner.register_hook(probe)
    with pytest.raises(error):
        runner.train()
    assert probe.seen == [True]
    assert not _held(runner.work_dir)


def test_a_runner_built_to_test_takes_no_lock(other_holder, tmp_path,
                                              tiny_image_data, clean_loggers):
    work, holder = other_holder
    runner = _runner(tmp_path, tiny_image_data, work=work)
    metrics = runner.test()
    assert 'accuracy/top1' in metrics
    with pytest.raises(WorkDirBusyError, match=f'pid {holder.pid}@node7'):
        runner.train()


# Each rank of a CPU DDP run: a runner built in Python trains into a work
# dir another process holds.
DDP_RANK = '''
import sys

from mmengine.config import Config

from mmadaptformer.engine import build_runner
from mmadaptformer.utils import setup_cpu_distributed
from mmadaptformer.utils.work_dir_lock import WorkDirBusyError

cfg = Config.fromfile(sys.argv[1])
cfg.work_dir = sys.argv[2]
setup_cpu_distributed(cfg, 'pytorch')
runner = build_runner(cfg)
try:
    runner.train()
except WorkDirBusyError as e:
    print(f'rank {runner.rank} refused: {e}', flush=True)
    sys.exit(3)
'''


def test_every_ddp_rank_is_refused(other_holder, tmp_path, tiny_image_data):
    """Rank 0 decides and every rank raises its refusal: none waits in a
    collective for a rank 0 that ended."""
    work, holder = other_holder
    script = tmp_path / 'rank.py'
    script.write_text(DDP_RANK)
    cfg = write_config(tmp_path / 'tiny.py', TINY_IMAGE_CONFIG,
                       image_data_cfg(tiny_image_data))
    proc = run_ranks([str(script), cfg, str(work)],
                     2,
                     tmp_path,
                     free_port(),
                     timeout=180,
                     check=False)
    assert proc.returncode == 3, proc.stdout[-3000:]
    for rank in (0, 1):
        assert (f'rank {rank} refused: work_dir {work}: another training '
                f'run is writing it (pid {holder.pid}@node7') in proc.stdout


def test_a_lock_taken_before_its_record_is_named_so(tmp_path):
    """A run between taking the lock and writing its record: named as
    such, not as a record that "cannot be read (Expecting value ...)"."""
    work = tmp_path / 'work'
    work.mkdir()
    path = work / LOCK_FILE
    with open(path, 'w') as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ConfigError) as refused:
            with hold_work_dir(work):
                pass
    assert ('a run that has just taken the lock and not yet written its '
            f'record in {path}') in str(refused.value)
    assert path.read_text() == ''


def test_a_lock_file_that_cannot_be_written_is_not_to_be_removed(tmp_path):
    """An immutable lock file (``chattr +i``; a read-only filesystem is
    alike): removing it would not help, and it may be a live run's lock,
    so the refusal does not say "remove it"."""
    work = tmp_path / 'work'
    work.mkdir()
    path = work / LOCK_FILE
    path.write_text('')
    immutable = shutil.which('chattr') and subprocess.run(
        ['chattr', '+i', str(path)], capture_output=True).returncode == 0
    if not immutable:
        pytest.skip('no chattr +i on this filesystem')
    try:
        with pytest.raises(ConfigError) as refused:
            with hold_work_dir(work):
                pass
    finally:
        subprocess.run(['chattr', '-i', str(path)], check=True)
    assert str(refused.value) == (
        f'work_dir {work}: the training lock file {path} cannot be opened '
        'for writing (Operation not permitted): train into a work dir '
        'where it can.')
