# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The folder a download of the download cache (:mod:`.download_cache`)
is written, checked and loaded in before it takes its name.

In a cache folder others can write in (a group's shared hub cache), a
scratch file there could be replaced while the request ran (a link to one
of this user's files, which the load and the move into place would then
have taken as the download). So each download gets a folder of its own
next to its file, made as ``tempfile.mkdtemp`` makes one (mode 0700,
owned by this user: no other user can add, replace or delete a file in
it), and held open: its files are named through the open folder
(``/proc/self/fd/N/...`` on Linux), not through its name in the cache
folder, which someone who can write there could give to a folder of their
own. The move into place is a rename within the cache folder's file
system, so it stays atomic.
"""
import contextlib
import errno
import logging
import os
import os.path as osp
import re
import tempfile
import time
from typing import Iterator, List, Optional

from mmengine.logging import print_log

from .checkpoint_loading import CheckpointLoadError

__all__ = ['scratch_folder', 'downloads_in_progress']


@contextlib.contextmanager
def scratch_folder(cached: str) -> Iterator[str]:
    """A folder of this user's alone next to ``cached``, for its download.

    Args:
        cached (str): The download's place in the cache.

    Yields:
        str: The path to name the folder's files by: through the folder
        held open where the system allows it (Linux), else its name (and
        there, someone who can write in the cache folder could put a
        folder of their own in its place).
        Errors that name a file through it (a ``CheckpointLoadError``,
        an ``OSError``'s file names) name the folder by its name.

    Raises:
        CheckpointLoadError: If the folder made is no longer this user's
            alone when it is opened (someone put another in its place).

    On every way out (a refusal, an error, Ctrl-C) the folder is deleted
    if it is empty; a file left in it on purpose, which the error names,
    leaves it.
    """
    folder = osp.dirname(cached)
    os.makedirs(folder, exist_ok=True)
    private = tempfile.mkdtemp(
        prefix=osp.basename(cached) + '.', suffix='.partial', dir=folder)
    fd = _hold(private, cached)
    try:
        made = os.lstat(private) if fd is None else os.fstat(fd)
        held = f'/proc/self/fd/{fd}'
        pinned = held if fd is not None and osp.isdir(held) else private
        try:
            yield pinned
        except CheckpointLoadError as e:
            if pinned == private:
                raise
            raise CheckpointLoadError(
                str(e).replace(pinned, private), refused=e.refused) from None
        except OSError as e:
            # The same error, naming the folder by its name as well.
            for field in ('filename', 'filename2'):
                name = getattr(e, field)
                if isinstance(name, str):
                    setattr(e, field, name.replace(pinned, private))
            raise
        finally:
            _remove_if_empty(private, made)
    finally:
        if fd is not None:
            os.close(fd)


def _hold(private: str, cached: str) -> Optional[int]:
    """Open the folder ``private`` just made, and check that it is still
    this user's alone; None where folders cannot be opened (Windows)."""
    if not hasattr(os, 'O_DIRECTORY'):
        return None
    replaced = CheckpointLoadError(
        f'The scratch folder {private} the download of {cached} was to be '
        'written in was replaced while it was made, and is not used '
        f'(someone else who can write in {osp.dirname(private)} did it); '
        'make the cache folder writable by you alone.')
    try:
        fd = os.open(private, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        raise replaced from None  # A link or a file now has its name.
    made = os.fstat(fd)
    # Nobody else may enter it; a setgid cache folder makes it 0o2700.
    if made.st_uid != os.geteuid() or made.st_mode & 0o077:
        os.close(fd)
        raise replaced
    return fd


def _remove_if_empty(private: str, made: os.stat_result) -> None:
    """Delete the scratch folder ``private`` if it is still the one
    ``made`` there and is empty."""
    try:
        if osp.samestat(os.lstat(private), made):
            os.rmdir(private)
    except FileNotFoundError:
        pass
    except OSError as e:
        if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return  # A file left on purpose, named in the error.
        print_log(
            f'The scratch folder {private} could not be deleted '
            f'({e.strerror or e}; {type(e).__name__}); it was left there.',
            logger='current',
            level=logging.WARNING)


#: A scratch folder untouched for this many seconds (itself and its files)
#: is a killed load's, not a download in progress.
IN_PROGRESS_SECONDS = 600


def downloads_in_progress(cached: str) -> List[str]:
    """The scratch folders (:func:`scratch_folder`) next to ``cached`` of
    downloads of it that are going on: another load is putting a new
    download of it in place. A folder a killed load left (nothing in it
    written for :data:`IN_PROGRESS_SECONDS`) is not one.

    Args:
        cached (str): A file's place in the cache.

    Returns:
        list[str]: The folders' paths, sorted; empty if none, or if the
        cache folder cannot be listed.
    """
    folder, name = osp.split(cached)
    # tempfile.mkdtemp's names: the prefix, 8 random characters, suffix.
    pattern = re.compile(re.escape(name) + r'\.[a-z0-9_]{8}\.partial')
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    since = time.time() - IN_PROGRESS_SECONDS
    return sorted(
        osp.join(folder, entry) for entry in entries
        if pattern.fullmatch(entry) and osp.isdir(osp.join(folder, entry))
        and _last_written(osp.join(folder, entry)) >= since)


def _last_written(private: str) -> float:
    """When the scratch folder ``private`` or a file in it was last
    written (its own time where its files cannot be listed: another
    user's); 0 if it is gone."""
    try:
        times = [os.lstat(private).st_mtime]
    except OSError:
        return 0.
    try:
        names = os.listdir(private)
    except OSError:
        return times[0]
    for entry in names:
        try:
            times.append(os.lstat(osp.join(private, entry)).st_mtime)
        except OSError:
            pass  # Moved into place meanwhile: the folder's time counts.
    return max(times)
