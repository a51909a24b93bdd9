# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The ``<name>.url`` records the download cache keeps next to each
download (:mod:`.download_cache`): the address on the first line, then the
server's validators and the download's SHA-256 as ``name: value`` lines.

A record that is not text (a disk error, a file copied over it), not a
file at all (a folder of that name), that cannot be read (no permission,
a link that loops) or that is a link to nothing (its disk not mounted) is
damage, not a missing record: taken as missing, the cache would hand its
file out as whatever address names it, unchecked. Loads of an address
refuse it with :class:`.CheckpointLoadError`; nothing is deleted.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlparse

from .checkpoint_loading import CheckpointLoadError
from .download_hash import SHA256_FIELD
from .download_http import VALIDATORS

__all__ = [
    'URL_SUFFIX', 'read_record', 'record_address', 'record_lines',
    'write_record'
]

#: Suffix of the file next to a download that records its address.
URL_SUFFIX = '.url'


def record_lines(cached: str) -> Optional[List[str]]:
    """The lines of ``cached``'s record; None without one.

    Args:
        cached (str): A file in the download cache.

    Returns:
        list[str] | None: The record's lines.

    Raises:
        UnicodeDecodeError: If the record is not UTF-8 text.
        IsADirectoryError: If the record is a folder.
        FileNotFoundError: If the record is a link to nothing.
        OSError: If the record cannot be read (no permission, a link
            that loops).
    """
    record = cached + URL_SUFFIX
    try:
        with open(record, encoding='utf-8') as f:
            return f.read().splitlines()
    except FileNotFoundError:
        if osp.islink(record):
            raise
        return None


def read_record(cached: str, url: str) -> Optional[Tuple[str, Dict[str, str]]]:
    """The address ``cached`` was downloaded from, the server's
    validators of that download and the download's SHA-256
    (:data:`.SHA256_FIELD`, where recorded); None without a record.

    Args:
        cached (str): A file in the download cache.
        url (str): The address being loaded (for the error).

    Returns:
        tuple[str, dict] | None: The recorded address and fields.

    Raises:
        CheckpointLoadError: If the record is not text, is a folder, is a
            link to nothing or cannot be read: it names the record (and
            where it points, or the OS error) and says what to do.
    """
    try:
        lines = record_lines(cached)
    except UnicodeDecodeError as e:
        raise _damaged(
            cached, url, 'is not a text record of an address '
            f'(byte {e.start} is not UTF-8): it is damaged, or '
            'another file was copied over it') from None
    except IsADirectoryError:
        raise _damaged(
            cached, url, 'is a folder, not the text file that records an '
            'address') from None
    except FileNotFoundError:
        raise _damaged(
            cached, url, f'is a link to {_link_target(cached + URL_SUFFIX)}, '
            'where there is no file: restore what it points to if it is a '
            'good record, else it is damaged') from None
    except OSError as e:
        # Taken as missing, the file would be downloaded again over a
        # record that may still be good once it can be read.
        raise _damaged(
            cached, url, f'cannot be read ({e.strerror or e}; '
            f'{type(e).__name__}): give this user read access to it if it '
            'is a good record, else it is damaged') from None
    if lines is None:
        return None
    validators = {}
    for line in lines[1:]:
        name, _, value = line.partition(':')
        if name.strip().lower() in VALIDATORS + (SHA256_FIELD, ):
            validators[name.strip().lower()] = value.strip()
    return (lines[0].strip() if lines else ''), validators


def _link_target(link: str) -> str:
    """Where ``link`` points, as written in it, and where that is when it
    is relative."""
    try:
        target = os.readlink(link)
    except OSError as e:
        # Replaced since it was found to be a link to nothing.
        return f'something that cannot be read back ({e.strerror or e})'
    if osp.isabs(target):
        return repr(target)
    return f'{target!r} ({osp.normpath(osp.join(osp.dirname(link), target))})'


def _damaged(cached: str, url: str, what: str) -> CheckpointLoadError:
    """The refusal of ``cached``'s record, which ``what`` describes."""
    record = cached + URL_SUFFIX
    return CheckpointLoadError(
        f'{record}, the download cache\'s record of the address {cached} '
        f'was downloaded from, {what}, so the cache cannot tell whether '
        f'{cached} is the file {url} names. Nothing was deleted; move '
        f'{record} and {cached} away to download {url} again.')


def record_address(cached: str) -> Optional[str]:
    """The ``http(s)`` address ``cached``'s record names, or None: no
    record, or a file of that name that is not one (not text, a folder,
    or not starting with an address; a Windows ``.url`` shortcut) or that
    cannot be read (no permission): nothing then shows its address.

    Args:
        cached (str): A file (its record is that name and
            :data:`URL_SUFFIX`).

    Returns:
        str | None: The address.
    """
    try:
        lines = record_lines(cached)
    except (UnicodeDecodeError, OSError):
        return None
    url = lines[0].strip() if lines else None
    if url and urlparse(url).scheme in ('http', 'https'):
        return url
    return None


def write_record(path: str,
                 url: str,
                 cached: str,
                 validators: Optional[Dict[str, str]] = None) -> None:
    """Write ``cached``'s address record atomically.

    Args:
        path (str): A scratch name next to ``cached``.
        url (str): The address.
        cached (str): The cached file.
        validators (dict, optional): The server's validators and the
            download's SHA-256.

    Raises:
        OSError: If the record cannot be written or put in place (a
            folder of its name, no permission, a file or link already at
            its scratch name ``path`` and :data:`URL_SUFFIX`, which is
            left as it is); the scratch file it made is then deleted.
    """
    scratch = path + URL_SUFFIX
    made = False
    try:
        # Made anew ('x'): a file or link of that name (planted in a cache
        # others can write in) is neither truncated nor written through.
        with open(scratch, 'x', encoding='utf-8') as f:
            made = True
            f.write(url + '\n')
            for name, value in sorted((validators or {}).items()):
                f.write(f'{name}: {value}\n')
        os.replace(scratch, cached + URL_SUFFIX)
    except BaseException:
        if made and os.path.lexists(scratch):
            os.remove(scratch)
        raise
