# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Putting a checked download in place in the download cache
(:mod:`.download_cache`): the file and its ``.url`` record
(:mod:`.download_records`), in the order that a process killed between
the two steps leaves safe, and undone where a step fails: the cache is
then as it was before (the old file with its old record), less the
download's scratch files.

Another load reading the cache meanwhile: a first download's record goes
in before its file, but a load asks whether the file is there before it
reads the record, so it downloads the address itself rather than read a
record whose file is not there yet. A changed file's new download goes
in before its new record: a load that reads in between finds the new file
under the old record's SHA-256, and the download's scratch folder next to
it (:func:`.downloads_in_progress`) tells it that the copy is being
replaced, not damaged.
"""
import errno
import logging
import os
import os.path as osp
import stat
from typing import Any, Callable, Dict, Optional

from mmengine.logging import print_log

from .checkpoint_loading import CheckpointLoadError
from .download_records import URL_SUFFIX, write_record

__all__ = ['keep_download']


def keep_download(url: str, partial: str, cached: str,
                  validators: Dict[str, str]) -> None:
    """Make the checked download ``partial`` of ``url`` ``cached``, with
    its record.

    Args:
        url (str): The address.
        partial (str): The download, a scratch file in the download's
            own folder next to ``cached`` (:mod:`.download_scratch`), on
            the same file system: its move into place is atomic.
        cached (str): Its place in the cache.
        validators (dict): The server's validators, for the record.

    Raises:
        CheckpointLoadError: If the file or its record cannot be put in
            place (a folder of its name, no permission): it names which
            and what to do. The old file and record are then put back;
            ``partial`` is left to the caller to delete.
    """
    if osp.isfile(cached):
        _replace_file_first(url, partial, cached, validators)
    else:
        _record_first(url, partial, cached, validators)


def _record_first(url: str, partial: str, cached: str,
                  validators: Dict[str, str]) -> None:
    """Put a first download in place: its record, then the file; where the
    file cannot go in, the record is put back as it was.

    The record first, since a process killed between the two steps (which
    nothing can undo) then leaves a record without its file, which is
    downloaded again; a file without its record would be taken unchecked.
    """
    record = cached + URL_SUFFIX
    # A readable record without its file (fetch_verified checked it) is
    # replaced; kept in memory, it can be put back.
    # (A folder that took its name since is refused by name.)
    old_record = _keep(url, record, lambda: _read_if_there(record))
    scratch = partial + '.old'
    _keep(url, record, lambda: write_record(partial, url, cached, validators))
    try:
        _keep(url, cached, lambda: os.replace(partial, cached))
    except BaseException as error:
        try:
            if old_record is None:
                os.remove(record)
            else:
                _put_back(scratch, record, old_record)
        except OSError as e:
            # Named in the error it would otherwise replace.
            why = f'({e.strerror or e}; {type(e).__name__})'
            if old_record is None:
                undone = (f'The record it wrote, {record}, could not be '
                          f'deleted again {why}; it was left there, without '
                          f'a file {cached}.')
            else:
                undone = (f'The old record {record} (of a file no longer '
                          f'there) could not be put back {why}; {record} '
                          'was left as it is now.')
                if osp.lexists(scratch):
                    # Not the put-back's to delete (see _put_back).
                    undone += (f' {scratch}, through which it was to be '
                               'put back, was left as it is.')
            raise CheckpointLoadError(f'{error} {undone}') from None
        raise


def _read_if_there(path: str) -> Optional[bytes]:
    try:
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        return None


def _put_back(scratch: str, path: str, content: bytes) -> None:
    """Write ``content`` to ``path`` atomically through ``scratch``.

    ``scratch`` is made anew (nothing of its name is written into or
    through, a link included); where a step fails, only the file made
    there is deleted again. Whatever else has taken the name (a folder made
    there since) is left as it is, and the step's own error is raised.
    """
    made = None
    try:
        with open(scratch, 'xb') as f:
            try:
                f.write(content)
                f.flush()
            finally:
                # How it is once written (or not), to be told apart from
                # whatever takes its name later.
                made = os.fstat(f.fileno())
        os.replace(scratch, path)
    except BaseException:
        if made is not None:
            _remove_own(scratch, made)
        raise


def _remove_own(scratch: str, made: os.stat_result) -> None:
    """Delete ``scratch`` if it is still the file ``made`` there; a failure
    is warned of, since the error it would replace says more.

    Its inode number alone does not tell: a folder made in place of the
    deleted file can get the same one at once.
    """
    try:
        now = os.lstat(scratch)
        if (osp.samestat(now, made) and stat.S_ISREG(now.st_mode)
                and (now.st_size, now.st_mtime_ns)
                == (made.st_size, made.st_mtime_ns)):
            os.remove(scratch)
    except FileNotFoundError:
        pass  # Gone already: nothing of ours is left.
    except OSError as e:
        print_log(
            f'The scratch file {scratch} could not be deleted '
            f'({e.strerror or e}; {type(e).__name__}); it was left there.',
            logger='current',
            level=logging.WARNING)


def _replace_file_first(url: str, partial: str, cached: str,
                        validators: Dict[str, str]) -> None:
    """Put the download of a file that changed on the server in place of
    its old copy: the file, then its record; where the record cannot go
    in, the old file is put back.

    The file first, since a process killed between the two steps then
    leaves the new file with the old record, whose validators make the
    next load download it again; the new record with the old file would
    make the old file pass for the new one. An old copy taken away since
    :func:`keep_download` found it leaves a first download
    (:func:`_record_first`).
    """
    old = partial + '.old'
    if not _keep(url, cached, lambda: _move_old_copy(url, cached, old)):
        # Taken away since keep_download found it: a first download now.
        _record_first(url, partial, cached, validators)
        return
    try:
        _keep(url, cached, lambda: os.replace(partial, cached))
        _keep(url, cached + URL_SUFFIX,
              lambda: write_record(partial, url, cached, validators))
    except BaseException as error:
        try:
            os.replace(old, cached)
        except OSError as e:
            raise CheckpointLoadError(
                f'{error} The old copy of {url} could not be put back '
                f'({e.strerror or e}; {type(e).__name__}); it was left as '
                f'{old}.') from None
        raise
    os.remove(old)


def _move_old_copy(url: str, cached: str, old: str) -> bool:
    """Move the old copy ``cached`` aside to ``old``; False if nothing has
    its name any more. A folder that took its name since
    :func:`keep_download` found a file there is put back and refused.

    A rename moves a folder as readily as a file: moved aside, the folder
    would have been left under the scratch name ``old``, which the final
    removal cannot delete, after the download and its new record went in.

    Raises:
        IsADirectoryError: If ``cached`` is a folder (put back).
        CheckpointLoadError: If that folder cannot be put back; it names
            where the folder was left.
    """
    try:
        os.replace(cached, old)
    except FileNotFoundError:
        return False
    if not osp.isdir(old):
        return True
    try:
        os.rename(old, cached)
    except OSError as e:
        raise CheckpointLoadError(
            f'The download of {url} loaded safely but could not be kept in '
            f'the cache: {cached} became a folder while it was put in '
            f'place, and the folder could not be put back '
            f'({e.strerror or e}; {type(e).__name__}); it was left as '
            f'{old}. Its scratch files were deleted.') from None
    raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), cached)


def _keep(url: str, target: str, step: Callable[[], Any]) -> Any:
    """Run ``step``, which puts ``url``'s checked download or its record
    in place as ``target`` (or reads what is there), and return what it
    returns; an OS error names ``target`` and what to do."""
    try:
        return step()
    except OSError as e:
        if osp.isdir(target):
            fix = f'move the folder {target} away'
        else:
            fix = (f'make {target} and its folder {osp.dirname(target)} '
                   'writable')
        raise CheckpointLoadError(
            f'The download of {url} loaded safely but could not be kept in '
            f'the cache: {target} could not be written '
            f'({e.strerror or e}; {type(e).__name__}). Its scratch files '
            f'were deleted; {fix} and load {url} again.') from None
