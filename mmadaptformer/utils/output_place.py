# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Whether an output path is a place a file can be written, and whether an
output that is there is written through rather than replaced.

The tools write a regular file atomically (:mod:`.atomic_save`: a
temporary file beside it, renamed onto it). An output that is a character
device (``/dev/null``, ``/dev/stdout`` on a terminal) or a pipe (a FIFO,
``/dev/stdout`` in a pipeline) is written through instead, as ``open``
writes it and as MMEngine's ``dump`` (so MMAction2's ``--dump``) does:
the rename replaced it with a regular file, run as ``root`` the system's
``/dev/null`` too. A block device or a socket is refused
(:func:`how_written` tells the three apart).

Permissions alone do not tell whether a file can be made: ``root`` may
"write" in ``/sys`` and ``/proc``, which take no new file, as a read-only
mount takes none. :func:`place_problem` makes and removes a temporary file
in the nearest folder that is there, so a tool refuses such an output
before its work, not with a traceback after it.
"""
import os
import os.path as osp
import stat
import tempfile
from enum import Enum
from typing import Optional

from .local_files import is_local

__all__ = [
    'Writing', 'how_written', 'nearest_existing', 'refused_kind',
    'place_problem', 'NOT_WRITTEN_THROUGH'
]

#: How a refused kind of output is described after ``'it is KIND'``.
NOT_WRITTEN_THROUGH = ('not a regular file, a character device (/dev/null) '
                       'or a pipe')


def nearest_existing(path: str) -> str:
    """``path`` made absolute if it exists, else the closest path above
    it that does: the one whose type and permissions decide whether
    ``path`` can be made.

    Args:
        path (str): A local path.

    Returns:
        str: An absolute path that exists (at the least, the root).
    """
    path = osp.abspath(path)
    while not osp.exists(path):
        path = osp.dirname(path)
    return path


class Writing(Enum):
    """How the tools write an output that is (or is not yet) at a path."""
    #: A regular file, a folder or nothing there: a temporary file beside
    #: it is renamed onto it (:class:`~.atomic_file.AtomicFile`).
    REPLACED = 'replaced'
    #: A character device or a pipe: opened and written as ``open`` does.
    THROUGH = 'written through'
    #: A block device or a socket: no tool writes one.
    REFUSED = 'refused'


def how_written(path: str) -> Writing:
    """How an output at ``path`` (followed through symbolic links) is
    written: :attr:`Writing.THROUGH` for a character device or a pipe,
    :attr:`Writing.REFUSED` for a block device or a socket,
    :attr:`Writing.REPLACED` for anything else (a regular file, a folder,
    a path that is not there).

    Args:
        path (str): A local path.

    Returns:
        Writing: As above.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return Writing.REPLACED
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return Writing.THROUGH
    if stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        return Writing.REFUSED
    return Writing.REPLACED


def refused_kind(path: str) -> str:
    """``'a block device'`` or ``'a socket'``: what :func:`how_written`
    found :attr:`Writing.REFUSED`."""
    return 'a block device' if stat.S_ISBLK(os.stat(path).st_mode) \
        else 'a socket'


def place_problem(path: str, flag: str, folder: bool = False) -> Optional[str]:
    """``'FLAG PATH: ...'`` if no file can be written at ``path`` as the
    tools write it (a temporary file in its folder, renamed onto it), or
    none can be made in the folder ``path`` (``folder=True``); else None.

    A character device or a pipe that is there passes (it is written
    through, :func:`how_written`); a block device or a socket does not.

    Args:
        path (str): The output, as the command line gives it; a path with a
            URI scheme is not checked.
        flag (str): How the command line names it (``'--out'``).
        folder (bool): Whether ``path`` is a folder the tool writes in
            (``gpu_check.sh --out-dir``). Defaults to False.

    Returns:
        str | None: The line for ``parser.error``.
    """
    if not is_local(path):
        return None
    writing = Writing.REPLACED if folder else how_written(path)
    if writing is Writing.THROUGH:
        return None
    if writing is Writing.REFUSED:
        return (f'{flag} {path}: it is {refused_kind(path)}, '
                f'{NOT_WRITTEN_THROUGH}; give the path of a file')
    target = osp.realpath(path)  # the file a write replaces
    above = nearest_existing(target if folder else osp.dirname(target))
    try:
        handle, probe = tempfile.mkstemp(prefix='.write-check-', dir=above)
    except OSError as e:
        return (f'{flag} {path}: no file can be made in {above} '
                f'({e.strerror}), as in /proc, /sys or a read-only mount; '
                'give a path in a folder you can write in')
    os.close(handle)
    os.remove(probe)
    return None
