# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Atomic local checkpoint writes for MMEngine.

MMEngine writes a checkpoint in place: ``CheckpointHook`` →
``Runner.save_checkpoint`` → :func:`mmengine.runner.save_checkpoint`, which
``torch.save``-s into memory and hands the bytes to the file backend's
``put``; :class:`~mmengine.fileio.LocalBackend` then opens the final path
with ``'wb'`` and writes. A run killed during that write (pre-emption, OOM
killer, Ctrl-\\) leaves a truncated ``epoch_N.pth`` under its real name.
Two more windows exist in mmengine 0.10:

* ``CheckpointHook`` writes ``work_dir/last_checkpoint`` (what
  ``--resume auto`` reads) with a plain ``open(..., 'w')``, not through the
  backend, so a kill there leaves it empty and ``--resume auto`` silently
  starts from scratch;
* with ``max_keep_ckpts``, ``CheckpointHook`` deletes the oldest kept
  checkpoint *before* it writes the new one; with ``max_keep_ckpts=1`` a kill
  during the write leaves ``last_checkpoint`` naming a deleted file.

:func:`register_atomic_local_writes` closes all three for local paths:

* ``LocalBackend.put`` / ``put_text`` write to a temporary file in the same
  directory, flush and ``fsync`` it, and ``os.replace`` it onto the target
  (then ``fsync`` the directory), so a reader sees the old file or the new
  one, never a partial one. A failed write removes its temporary file.
  Temporary files left by a killed writer are removed by the next
  successful write of the same file on the same host.
* ``CheckpointHook``'s writes of ``last_checkpoint`` go through the same
  atomic writer.
* ``CheckpointHook`` removes outdated checkpoints only after the new one and
  ``last_checkpoint`` are written.

Remote backends (Petrel, HTTP, memcached, LMDB, custom ones) are left as
they are.
"""
import builtins
import errno
import functools
import os
import os.path as osp
import re
import socket
import uuid
from pathlib import Path
from typing import IO, Any, Callable, List, Optional, Union

__all__ = [
    'atomic_write', 'AtomicFile', 'register_atomic_local_writes',
    'unregister_atomic_local_writes', 'atomic_local_writes_registered'
]

_TMP_SUFFIX = '.tmp'
_PATCH_MARK = '_mmadaptformer_atomic'


def _host_tag() -> str:
    """This host's name, reduced to characters safe in a file name."""
    return re.sub(r'[^A-Za-z0-9_-]', '_', socket.gethostname())[:32] or 'host'


def _tmp_prefix(target: str) -> str:
    """Hidden prefix of the temporary files written for ``target``."""
    return f'.{osp.basename(target)}.'


def _resolve_target(filepath: Union[str, Path]) -> str:
    """The file a plain ``open(filepath, 'w')`` would write.

    ``os.replace`` replaces a symbolic link itself, whereas ``open`` writes
    through it; resolving keeps the plain semantics.
    """
    path = osp.abspath(os.fspath(filepath))
    if osp.islink(path):
        path = osp.realpath(path)
    return path


def _fsync_dir(directory: str) -> None:
    """Make a rename in ``directory`` durable; best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        # Some file systems (and all of Windows) cannot fsync a directory.
        pass
    finally:
        os.close(fd)


def _fsync(fd: int) -> None:
    """``os.fsync`` that tolerates file systems without fsync support."""
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _remove_stale_tmp_files(target: str) -> List[str]:
    """Remove temporary files of ``target`` whose writer, a process on this
    host, is gone (killed while writing).

    Temporary files of live processes and of other hosts are kept, so a
    concurrent writer is never disturbed.

    Returns:
        list[str]: The removed paths.
    """
    directory = osp.dirname(target)
    pattern = re.compile(
        re.escape(_tmp_prefix(target)) + re.escape(_host_tag()) +
        r'\.(\d+)\.[0-9a-f]{32}' + re.escape(_TMP_SUFFIX) + '$')
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = pattern.match(name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        path = osp.join(directory, name)
        try:
            os.unlink(path)
            removed.append(path)
        except OSError:
            pass
    return removed


class AtomicFile:
    """A file opened for writing that appears at its path only when closed.

    Data goes to a temporary file next to the target. :meth:`close` (or
    leaving a ``with`` block normally) flushes, ``fsync``-s and renames it
    onto the target with ``os.replace``; :meth:`abort` (or leaving a
    ``with`` block by an exception) deletes it and leaves the target as it
    was. The temporary file is created with mode ``0o666`` minus the umask,
    like ``open`` creates files.

    Args:
        filepath (str | Path): The file to write. A symbolic link is
            followed, as ``open`` would.
        mode (str): ``'w'``, ``'wb'``, ``'wt'``, ``'w+'``, ``'wb+'`` and
            alike. Defaults to ``'wb'``.
        encoding (str, optional): Text encoding, text modes only.
            Defaults to None.
        **kwargs: Passed to :func:`open` (``newline``, ``errors``, ...).

    Examples:
        >>> with AtomicFile('work_dir/last_checkpoint', 'w') as f:
        ...     f.write('work_dir/epoch_3.pth')
    """

    def __init__(self,
                 filepath: Union[str, Path],
                 mode: str = 'wb',
                 encoding: Optional[str] = None,
                 **kwargs: Any) -> None:
        if not mode.startswith('w') or 'a' in mode or 'x' in mode:
            raise ValueError(
                f'AtomicFile writes whole files; mode must start with "w", '
                f'got mode={mode!r} for {os.fspath(filepath)!r}')
        self.target = _resolve_target(filepath)
        directory = osp.dirname(self.target)
        os.makedirs(directory, exist_ok=True)
        self.tmp_path = osp.join(
            directory, f'{_tmp_prefix(self.target)}{_host_tag()}.'
            f'{os.getpid()}.{uuid.uuid4().hex}{_TMP_SUFFIX}')
        fd = os.open(
            self.tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL
            | getattr(os, 'O_BINARY', 0), 0o666)
        try:
            self._file: IO = open(fd, mode, encoding=encoding, **kwargs)
        except BaseException:
            os.close(fd)
            os.unlink(self.tmp_path)
            raise
        self._done = False

    def __getattr__(self, name: str) -> Any:
        # Everything but close/abort behaves as the temporary file. Private
        # names never are: ``__del__`` of a half-built instance must not
        # recurse into a missing ``_file``.
        if name.startswith('_'):
            raise AttributeError(name)
        return getattr(self._file, name)

    @property
    def closed(self) -> bool:
        """Whether the file was committed or aborted."""
        return self._done

    def close(self) -> None:
        """Flush, fsync and move the data onto the target."""
        if self._done:
            return
        try:
            self._file.flush()
            _fsync(self._file.fileno())
            self._file.close()
            os.replace(self.tmp_path, self.target)
        except BaseException:
            self.abort()
            raise
        self._done = True
        _fsync_dir(osp.dirname(self.target))
        _remove_stale_tmp_files(self.target)

    def abort(self) -> None:
        """Drop the written data; the target stays as it was."""
        if self._done:
            return
        self._done = True
        try:
            self._file.close()
        except Exception:  # noqa: B902 -- the data is dropped anyway
            pass
        try:
            os.unlink(self.tmp_path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> 'AtomicFile':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # An AtomicFile that was never closed must not leave its data
        # behind, nor replace the target with something unfinished.
        if not getattr(self, '_done', True):
            self.abort()


def atomic_write(obj: Union[bytes, str],
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
    """Write ``obj`` to ``filepath`` so that no reader sees a partial file.

    Args:
        obj (bytes | str): The whole content; ``str`` is written in text
            mode with ``encoding``.
        filepath (str | Path): The target file; missing parent folders are
            created.
        encoding (str): Text encoding for ``str``. Defaults to ``'utf-8'``.
    """
    if isinstance(obj, str):
        writer = AtomicFile(filepath, 'w', encoding=encoding)
    else:
        writer = AtomicFile(filepath, 'wb')
    with writer as f:
        f.write(obj)


# ------------------------------------------------------------- patching
def _atomic_put(self, obj: bytes, filepath: Union[str, Path]) -> None:
    """``LocalBackend.put`` that writes atomically."""
    atomic_write(obj, filepath)


def _atomic_put_text(self,
                     obj: str,
                     filepath: Union[str, Path],
                     encoding: str = 'utf-8') -> None:
    """``LocalBackend.put_text`` that writes atomically."""
    atomic_write(obj, filepath, encoding=encoding)


def _checkpoint_hook_open(file, mode: str = 'r', *args: Any, **kwargs: Any):
    """``open`` for :mod:`mmengine.hooks.checkpoint_hook`: whole-file writes
    to local paths (``last_checkpoint``) become :class:`AtomicFile`."""
    if (isinstance(file, (str, Path)) and isinstance(mode, str)
            and mode.startswith('w') and not args):
        return AtomicFile(file, mode, **kwargs)
    return builtins.open(file, mode, *args, **kwargs)


class _DeferredRemoval:
    """Stands in for ``backend.remove`` while a checkpoint is saved."""

    def __init__(self) -> None:
        self.paths: List[Any] = []

    def __call__(self, filepath) -> None:
        self.paths.append(filepath)


def _wrap_save_with_step(save_with_step: Callable) -> Callable:
    """Make ``CheckpointHook._save_checkpoint_with_step`` delete outdated
    local checkpoints only after the new one is complete."""

    @functools.wraps(save_with_step)
    def wrapper(self, runner, step, meta):
        from mmengine.fileio import LocalBackend
        backend = getattr(self, 'file_backend', None)
        client = getattr(backend, 'client', backend)  # FileClient wraps one
        if not isinstance(client, LocalBackend) or \
                'remove' in vars(backend):
            return save_with_step(self, runner, step, meta)
        deferred = _DeferredRemoval()
        backend.remove = deferred
        try:
            result = save_with_step(self, runner, step, meta)
        finally:
            del backend.remove
        # The new checkpoint and last_checkpoint are in place: the outdated
        # ones can go (never the one just written).
        for path in deferred.paths:
            if path != getattr(self, 'last_ckpt', None):
                backend.remove(path)
        return result

    setattr(wrapper, _PATCH_MARK, save_with_step)
    return wrapper


def atomic_local_writes_registered() -> bool:
    """Whether :func:`register_atomic_local_writes` is in effect.

    Returns:
        bool: True if local MMEngine writes are atomic.
    """
    from mmengine.fileio import LocalBackend
    return hasattr(LocalBackend.put, _PATCH_MARK)


def register_atomic_local_writes() -> None:
    """Make MMEngine's local checkpoint writes atomic.

    Patches ``LocalBackend.put`` / ``put_text`` (and so ``FileClient`` and
    ``HardDiskBackend``, which use them), ``CheckpointHook``'s write of
    ``last_checkpoint`` and its removal of outdated checkpoints; see the
    module docstring. Idempotent.
    """
    if atomic_local_writes_registered():
        return
    from mmengine.fileio import LocalBackend
    from mmengine.hooks import checkpoint_hook
    originals = dict(put=LocalBackend.put, put_text=LocalBackend.put_text)
    for name, func in (('put', _atomic_put), ('put_text', _atomic_put_text)):
        patched = functools.wraps(originals[name])(func)
        setattr(patched, _PATCH_MARK, originals[name])
        setattr(LocalBackend, name, patched)
    # A module-level ``open`` shadows the builtin for that module only.
    checkpoint_hook.open = _checkpoint_hook_open
    hook_cls = checkpoint_hook.CheckpointHook
    if not hasattr(hook_cls._save_checkpoint_with_step, _PATCH_MARK):
        hook_cls._save_checkpoint_with_step = _wrap_save_with_step(
            hook_cls._save_checkpoint_with_step)


def unregister_atomic_local_writes() -> None:
    """Restore MMEngine's own (in-place) local writes. For tests."""
    from mmengine.fileio import LocalBackend
    from mmengine.hooks import checkpoint_hook
    for name in ('put', 'put_text'):
        func = getattr(LocalBackend, name)
        if hasattr(func, _PATCH_MARK):
            setattr(LocalBackend, name, getattr(func, _PATCH_MARK))
    if getattr(checkpoint_hook, 'open', None) is _checkpoint_hook_open:
        del checkpoint_hook.open
    hook_cls = checkpoint_hook.CheckpointHook
    method = hook_cls._save_checkpoint_with_step
    if hasattr(method, _PATCH_MARK):
        hook_cls._save_checkpoint_with_step = getattr(method, _PATCH_MARK)
