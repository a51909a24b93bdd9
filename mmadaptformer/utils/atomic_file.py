# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Atomic local file writes: :class:`AtomicFile` and :func:`atomic_write`.

They write to a temporary file in the same directory, flush and ``fsync``
it, and ``os.replace`` it onto the target (then ``fsync`` the directory),
so a reader sees the old file or the new one, never a partial one. A failed
write removes its temporary file and raises an :class:`AtomicWriteError`
(an ``OSError``) that names the file being written and the bytes written.
Temporary files left by a killed writer are removed by the next successful
write of the same file on the same host (see
:mod:`~mmadaptformer.utils.atomic_tmp_files`). A target that is a
character device or a pipe (``/dev/null``, ``/dev/stdout``, a FIFO) is
written through, as ``open`` writes it, not replaced by a regular file; a
block device or a socket is refused
(:func:`~mmadaptformer.utils.output_place.how_written`).

What is written through them: MMEngine's checkpoints
(:mod:`.atomic_save`), the converters' outputs, the tools' JSON reports.
"""
import errno
import os
import os.path as osp
from pathlib import Path
from typing import IO, Any, Optional, Union

from .atomic_tmp_files import remove_stale_tmp_files, tmp_file_name
from .output_place import (NOT_WRITTEN_THROUGH, Writing, how_written,
                           refused_kind)
from .planted_links import planted_link

__all__ = ['atomic_write', 'AtomicFile', 'AtomicWriteError']


class AtomicWriteError(OSError):
    """A write of :class:`AtomicFile` failed (disk full, file too large, no
    permission): the message names the target, the bytes written and says
    that the target was left as it was; ``errno`` is the original one. The
    tools end with it on one line (it says all a user needs)."""


def _resolve_target(filepath: Union[str, Path]) -> str:
    """The file a plain ``open(filepath, 'w')`` would write.

    ``os.replace`` replaces a symbolic link itself, whereas ``open`` writes
    through it; resolving keeps the plain semantics. A link that another
    user planted in a shared folder (:mod:`.planted_links`) is refused
    instead: resolved here, the kernel would never see it to refuse it.

    Raises:
        AtomicWriteError: If the path leads through such a link.
    """
    path = osp.abspath(os.fspath(filepath))
    why = planted_link(path)
    if why is not None:
        raise AtomicWriteError(
            errno.EACCES, f'Could not write {os.fspath(filepath)}: {why} '
            'Nothing was written.')
    if osp.islink(path):
        path = osp.realpath(path)
    return path


def _open_streamed(filepath: Union[str, Path], mode: str,
                   encoding: Optional[str], kwargs: dict) -> Optional[IO]:
    """``filepath`` opened as ``open`` opens it if it is written through
    (a character device or a pipe); None for anything else. The caller has
    refused a planted link (:func:`_resolve_target`).

    Raises:
        AtomicWriteError: If it is a block device or a socket, or the
            device or pipe cannot be opened.
    """
    path = osp.abspath(os.fspath(filepath))
    writing = how_written(path)
    if writing is Writing.REPLACED:
        return None
    if writing is Writing.REFUSED:
        raise AtomicWriteError(
            errno.EINVAL, f'Could not write {os.fspath(filepath)}: it is '
            f'{refused_kind(path)}, {NOT_WRITTEN_THROUGH}; nothing was '
            'written. Give the path of a file.')
    try:
        return open(path, mode, encoding=encoding, **kwargs)
    except OSError as e:
        raise AtomicWriteError(
            e.errno,
            f'Could not write {path}: {e.strerror}; nothing was written.'
        ) from e


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


class AtomicFile:
    """A file opened for writing that appears at its path only when closed.

    Data goes to a temporary file next to the target. :meth:`close` (or
    leaving a ``with`` block normally) flushes, ``fsync``-s and renames it
    onto the target with ``os.replace``; :meth:`abort` (or leaving a
    ``with`` block by an exception) deletes it and leaves the target as it
    was. The temporary file is created with mode ``0o666`` minus the umask,
    like ``open`` creates files. A character device or a pipe
    (``/dev/null``, ``/dev/stdout``, a FIFO) is written through instead,
    as ``open`` writes it (``streamed`` is True): there is no temporary
    file, and :meth:`abort` cannot take back what went through.

    Args:
        filepath (str | Path): The file to write. A symbolic link is
            followed, as ``open`` would, unless another user made it in a
            folder anyone can write in (``/tmp``): that raises
            :class:`AtomicWriteError`, as a block device or a socket
            does.
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
        self.requested = 0
        self._done = True  # nothing to clean up until a file is open
        target = _resolve_target(filepath)  # refuses a planted link
        through = _open_streamed(filepath, mode, encoding, kwargs)
        self.streamed = through is not None
        if self.streamed:
            # Named as given: /dev/stdout in a pipeline resolves to
            # pipe:[N], which open() reaches through /proc but no path names.
            self.target = osp.abspath(os.fspath(filepath))
            self._file = through
            self._done = False
            return
        self.target = target
        directory = osp.dirname(self.target)
        self.tmp_path = osp.join(directory, tmp_file_name(self.target))
        try:
            os.makedirs(directory, exist_ok=True)
            fd = os.open(
                self.tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                | getattr(os, 'O_BINARY', 0), 0o666)
        except OSError as e:
            raise AtomicWriteError(
                e.errno, f'Could not write {self.target}: {e.strerror} '
                f'while creating its temporary file {self.tmp_path}; 0 bytes '
                f'written, {self.target} was left as it was.') from e
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

    def write(self, data: Union[bytes, str]) -> int:
        """Write ``data`` to the temporary file.

        Raises:
            AtomicWriteError: Of the original errno (disk full, file too
                large, ...) with a message that names the target, the
                bytes written and the bytes requested. The temporary file
                is removed.
        """
        self.requested += len(data)
        try:
            return self._file.write(data)
        except OSError as e:
            raise self._failed(e) from e

    def _failed(self, error: OSError) -> AtomicWriteError:
        """Abort, and describe ``error`` with the file and the bytes."""
        unit = 'bytes' if 'b' in self._file.mode else 'characters'
        if self.streamed:
            self.abort()
            return AtomicWriteError(
                error.errno, f'Could not write {self.target}: '
                f'{error.strerror or error} while writing {self.requested} '
                f'{unit} through to it (a device or a pipe).')
        try:
            written = os.fstat(self._file.fileno()).st_size
        except (OSError, ValueError):  # already closed
            try:
                written = osp.getsize(self.tmp_path)
            except OSError:
                written = None
        self.abort()
        done = 'an unknown number' if written is None else written
        return AtomicWriteError(
            error.errno, f'Could not write {self.target}: '
            f'{error.strerror or error} after {done} of {self.requested} '
            f'{unit} were written (to its temporary file {self.tmp_path}, '
            f'now removed); {self.target} was left as it was.')

    def close(self) -> None:
        """Flush, fsync and move the data onto the target."""
        if self._done:
            return
        if self.streamed:
            try:
                self._file.close()
            except OSError as e:
                raise self._failed(e) from e
            self._done = True
            return
        try:
            self._file.flush()
            _fsync(self._file.fileno())
            self._file.close()
            os.replace(self.tmp_path, self.target)
        except OSError as e:
            raise self._failed(e) from e
        except BaseException:
            self.abort()
            raise
        self._done = True
        _fsync_dir(osp.dirname(self.target))
        remove_stale_tmp_files(self.target)

    def abort(self) -> None:
        """Drop the written data; the target stays as it was."""
        if self._done:
            return
        self._done = True
        try:
            self._file.close()
        except Exception:  # noqa: B902 -- the data is dropped anyway
            pass
        if self.streamed:
            return  # what was written went through already
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
