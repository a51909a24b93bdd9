# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One training run at a time in a work dir.

Nothing stopped two training processes from writing the same work dir at
once: the same ``tools/train.py CFG`` started twice (two terminals, a job
submitted again or requeued while the first still runs on another node), or
a bare ``srun -n 4 python tools/train.py CFG`` (four runs of one process
each). They wrote over each other's ``epoch_N.pth``, ``best_*.pth``,
``last_checkpoint`` and config copy, and a later ``--resume auto`` went on
from the other run's checkpoint.

:func:`hold_work_dir` takes an exclusive ``fcntl.flock`` on
``work_dir/.mmadaptformer-train.lock`` for as long as a run trains, and
writes there who holds it (pid, host, start time, command line). A second
run is refused with :class:`WorkDirBusyError`, which names the live run.
The kernel drops the lock when its process ends, however it ends: a killed
run leaves no stale lock. The processes it forks (its DataLoader workers,
which can outlive it) do not hold it. One process holds a work dir's lock
once, however its path was written (relative, ``~``, a trailing slash, a
link): it takes it again as often as it likes (``tools/train.py`` and then
its runner's ``train()``), and gives it back when the last holder is done.
Only a
training run takes it; ``tools/test.py`` into the same work dir does not.

Where the filesystem has no ``flock`` (some NFS and Lustre mounts answer
``ENOLCK``, ``EOPNOTSUPP`` or ``ENOSYS``), the run trains, with one warning
that a second run into its work dir cannot be detected there.
"""
import contextlib
import errno
import fcntl
import json
import logging
import os
import os.path as osp
import shlex
import socket
import sys
import time
from stat import S_ISREG
from typing import Dict, Iterator, Optional, Tuple

from mmengine.logging import print_log

from .config_error import ConfigError

__all__ = ['LOCK_FILE', 'WorkDirBusyError', 'hold_work_dir']

#: The lock file's name in the work dir.
LOCK_FILE = '.mmadaptformer-train.lock'

#: What ``flock`` answers on a filesystem that does not support it.
_UNSUPPORTED = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS)


class WorkDirBusyError(ConfigError):
    """Another live training run holds the work dir's lock: the message
    names the work dir, that run (pid@host, since when, its command) and
    what to do."""


class _Held:
    """A lock file this process holds: its descriptor (None where the
    filesystem has no ``flock``), its work dir, whether this process made
    that folder, and how many holders share it."""

    def __init__(self, fd: Optional[int], work_dir: str, made: bool) -> None:
        self.fd = fd
        self.work_dir = work_dir
        self.made = made
        self.count = 1


#: The work dirs this process holds, by the lock file's (device, inode).
_HELD: Dict[Tuple[int, int], _Held] = {}


def _drop_in_child() -> None:
    """In a forked child (a DataLoader worker): hold nothing.

    A ``flock`` belongs to the open file description, which ``fork``
    shares (``O_CLOEXEC`` acts only on ``exec``): a persistent worker
    would keep the lock after its run gave it back (a second run in the
    same process was refused by its own worker) or after its run was
    killed. Closing the child's descriptor leaves the parent's lock held:
    the lock goes with the last descriptor of the description.
    """
    for held in _HELD.values():
        if held.fd is not None:
            os.close(held.fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_drop_in_child)


def _record() -> bytes:
    """Who holds the lock, as the lock file keeps it."""
    return json.dumps(
        dict(
            pid=os.getpid(),
            host=socket.gethostname(),
            since=time.strftime('%Y-%m-%d %H:%M:%S %Z'),
            command=shlex.join([sys.executable] + sys.argv)),
        sort_keys=True).encode() + b'\n'


def _holder(fd: int, path: str) -> str:
    """The live run that holds the lock, in words, from its record."""
    try:
        text = os.pread(fd, 1 << 16, 0).decode()
        if not text.strip():
            return (f'a run that has just taken the lock and not yet '
                    f'written its record in {path}')
        record = json.loads(text)
        return (f'pid {record["pid"]}@{record["host"]}, training since '
                f'{record["since"]}: {record["command"]}')
    except (ValueError, KeyError, TypeError, OSError) as e:
        # The record was edited, or is being written.
        return f'a run whose record in {path} cannot be read ({e})'


def _refusal(work_dir: str, holder: str) -> str:
    return (f'work_dir {work_dir}: another training run is writing it '
            f'({holder}); two runs would write over each other\'s '
            'checkpoints and last_checkpoint. Wait for it to end or stop '
            'it (--resume goes on from its checkpoints once it has ended; '
            'resuming it while it runs would race it), or train into '
            'another work dir.')


def _unsupported_warning(work_dir: str, error: OSError) -> str:
    return (f'work_dir {work_dir}: its filesystem does not support file '
            f'locks (flock: {error.strerror}), so another training run '
            'into this work dir at the same time cannot be detected here: '
            'make sure none is running.')


def _not_a_lock_file(work_dir: str, path: str, why: str) -> str:
    return (f'work_dir {work_dir}: {path} cannot be this run\'s training '
            f'lock file ({why}): remove it, or train into another work '
            'dir.')


def _user(uid: int) -> str:
    try:
        import pwd
        return f'{pwd.getpwuid(uid).pw_name!r} (uid {uid})'
    except (ImportError, KeyError):
        return f'uid {uid}'


def _cannot_open(work_dir: str, path: str, error: OSError) -> str:
    """Why the lock file at ``path`` cannot be opened for writing, and
    what to do; never "remove it" where it may be a live run's lock."""
    if error.errno == errno.ELOOP:
        return _not_a_lock_file(work_dir, path, 'it is a symbolic link')
    if error.errno == errno.EISDIR:
        return _not_a_lock_file(work_dir, path, 'it is a folder')
    if error.errno != errno.EACCES:
        # A read-only filesystem, an immutable file, ...: removing the
        # file would not help, and it may be a live run's lock.
        return (f'work_dir {work_dir}: the training lock file {path} '
                f'cannot be opened for writing ({error.strerror}): train '
                'into a work dir where it can.')
    me = _user(os.geteuid())
    try:
        stat = os.lstat(path)
    except FileNotFoundError:
        return (f'work_dir {work_dir}: this user ({me}) cannot create the '
                f'training lock file {path} there (Permission denied): '
                'train into a work dir this user can write.')
    except OSError:
        return (f'work_dir {work_dir}: this user ({me}) cannot open the '
                f'training lock file {path} (Permission denied): train '
                'into another work dir.')
    if stat.st_uid != os.geteuid():
        return (f'work_dir {work_dir}: the training lock file {path} '
                f'belongs to {_user(stat.st_uid)} and cannot be opened for '
                f'writing by this user ({me}) (Permission denied): ask its '
                f'owner to let this user write it (`chmod g+w {path}` '
                'where the group shares the work dir), or train into '
                'another work dir.')
    return (f'work_dir {work_dir}: the training lock file {path} is this '
            f'user\'s ({me}), but its mode ({oct(stat.st_mode & 0o777)}) '
            f'does not let it be opened for writing: `chmod u+w {path}`, '
            'or train into another work dir.')


def _take(work_dir: str) -> Tuple[int, int]:
    """Take the lock of ``work_dir`` (or learn there is no ``flock`` here)
    and count this holder; returns the key of :data:`_HELD`."""
    made = not osp.isdir(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    while True:
        key = _take_file(work_dir, made)
        if key is not None:
            return key


def _take_file(work_dir: str, made: bool) -> Optional[Tuple[int, int]]:
    """:func:`_take` on the lock file there now; None if the file was
    removed (by a run that gave it back) before its lock was ours."""
    path = osp.join(work_dir, LOCK_FILE)
    # Never truncated before the lock is ours: the record is the live
    # run's. Never through a link: a link planted there by another user
    # would have this run write into the file it names. Its mode is the
    # umask's, as the checkpoints': in a work dir a group shares (umask
    # 002), a teammate's run can take it.
    try:
        fd = os.open(path,
                     os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
                     0o666)
    except OSError as e:
        raise ConfigError(_cannot_open(work_dir, path, e))
    kept = False
    try:
        stat = os.fstat(fd)
        if not S_ISREG(stat.st_mode):
            raise ConfigError(
                _not_a_lock_file(work_dir, path, 'not a regular file'))
        key = (stat.st_dev, stat.st_ino)
        held = _HELD.get(key)
        if held is not None:
            # This process holds it through another open of the same file;
            # a second flock on it would refuse this process itself.
            held.count += 1
            return key
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkDirBusyError(_refusal(work_dir, _holder(fd, path)))
        except OSError as e:
            if e.errno not in _UNSUPPORTED:
                raise
            print_log(
                _unsupported_warning(work_dir, e), 'current', logging.WARNING)
            _HELD[key] = _Held(None, work_dir, made)
            return key
        try:
            now = os.stat(path)
        except FileNotFoundError:
            return None
        if (now.st_dev, now.st_ino) != key:
            return None
        os.ftruncate(fd, 0)
        os.pwrite(fd, _record(), 0)
        _HELD[key] = _Held(fd, work_dir, made)
        kept = True
        return key
    finally:
        if not kept:
            os.close(fd)


def _give_back(key: Tuple[int, int]) -> None:
    held = _HELD.get(key)
    if held is None:
        # A forked child leaving its parent's hold: it holds nothing, and
        # the parent's record and lock file are the parent's.
        return
    held.count -= 1
    if held.count:
        return
    del _HELD[key]
    try:
        # A run refused before it wrote anything leaves the work dir as it
        # found it. Removed while the lock is still ours: a run that opened
        # the file meanwhile finds it gone once it has the lock, and opens
        # anew.
        if os.listdir(held.work_dir) == [LOCK_FILE]:
            os.remove(osp.join(held.work_dir, LOCK_FILE))
            if held.made:
                _remove_if_empty(held.work_dir)
        elif held.fd is not None:
            # An empty record: nobody trains here.
            os.ftruncate(held.fd, 0)
    finally:
        if held.fd is not None:
            os.close(held.fd)  # drops the lock


def _remove_if_empty(folder: str) -> None:
    try:
        os.rmdir(folder)
    except OSError as e:
        # Another run has just made its lock file there: its folder now.
        if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise


@contextlib.contextmanager
def hold_work_dir(work_dir: str) -> Iterator[None]:
    """Hold ``work_dir``'s training lock in this block.

    The work dir is made if it is not there. Another process holding the
    lock is refused; this process holding it already shares it (the lock is
    given back when its outermost holder is done). When the lock is given
    back the file is kept with an empty record, or, where the run wrote
    nothing else into the work dir (it was refused at its start), removed
    with the work dir it made.

    Args:
        work_dir (str): The run's work dir, as written (``~`` is
            expanded).

    Raises:
        WorkDirBusyError: ``work_dir PATH: another training run is writing
            it (pid PID@HOST, training since TIME: COMMAND); ...``.
        ConfigError: ``work_dir PATH: FILE cannot be this run's training
            lock file (it is a symbolic link): ...``, or not a regular file.
    """
    work_dir = osp.abspath(osp.expanduser(str(work_dir)))
    key = _take(work_dir)
    try:
        yield
    finally:
        _give_back(key)
