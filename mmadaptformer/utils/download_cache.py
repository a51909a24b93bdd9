# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The cache of checkpoints downloaded from an address.

PyTorch's hub and MMEngine cache a download as ``<cache>/<file name>`` and
take any file of that name as the address's. This cache keeps that layout
(a file put there by hand is found), and adds:

* each download records its address in ``<name>.url``; another address
  with the same file name (two work dirs' ``epoch_1.pth``) is cached as
  ``<hash of the address>-<name>`` instead of being given the first one's
  weights, as is a name too long for a file (its end);
* the address of a file OpenMMLab or PyTorch publish, whose name ends in
  its hash (``.../vit-base_20220623-4c544545.pth``; see
  :mod:`.download_hash`), is checked against the file's SHA-256: a
  download that does not match is deleted, and a file found without a
  record that does not match is refused (and left where it is);
* a file found without a record and without such a promise is used, with
  a warning naming it, since nothing shows that it is the address's; one
  that matches its promise is recorded, with its SHA-256
  (:mod:`.download_unrecorded`);
* a download records the server's validators (``ETag``, ``Last-Modified``,
  ``Content-Length``) and its SHA-256; before a cached copy is used, the
  server is asked (``HEAD``, or the headers of a ``GET`` where it refuses
  ``HEAD``) and a file that changed there (a work dir's ``best.pth`` after
  another run) is downloaded again. A published file with a hash is not
  asked, and a server that cannot be asked (offline) leaves the cached
  copy in use, with a warning. A cached copy whose SHA-256 is not the one
  recorded (damaged on disk: PyTorch would load it with other weights)
  is downloaded again, with a warning. The cost: every load of a recorded
  copy reads the whole file once more, to hash it, before ``torch.load``
  reads it (about 0.8 s for a 346 MB ViT-B file on a 2-core machine,
  page cache warm; on every rank, and on every ``tools/infer.py`` run).
  (A copy another load is replacing: see :mod:`.download_keep`.)
* a record that is not text, is a folder, is a link to nothing or cannot
  be read (:mod:`.download_records`), is refused with
  :class:`.CheckpointLoadError`, not taken as missing: nothing then shows
  which address its file is; nothing is deleted.
* a load (:func:`fetch_cached`) reads the record once, to place the
  file and then to vouch for it and ask the server; a record at an
  address's place that names another address is refused by name.

Which of its files a tool must not write over is asked of
:mod:`.download_cache_files`.

A download (:mod:`.download_new`) goes to a scratch file in a folder of
its own in the cache folder, which no other user can write in
(:mod:`.download_scratch`), and takes its name only once it has loaded
safely; a refused download is
deleted, as are a download's scratch files where it cannot be put in place
(a folder of its name, no permission), and a refused file already in the
cache (:attr:`.CheckpointLoadError.refused`) is renamed to
``<name>.refused``; a damaged one is left, and named by its path. Where
the file or its record cannot be put in place, the old file and its old
record are put back (:mod:`.download_keep`): a new record next to the old
file would let the old file pass for the new.
"""
import hashlib
import logging
import os
import os.path as osp
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlparse

import torch
from mmengine.logging import print_log

from .checkpoint_loading import CheckpointLoadError, safe_torch_load
from .download_hash import promised_hash, recorded_hash_mismatch
from .download_http import changed_since, download_failure
from .download_new import download_again, download_into
from .download_records import URL_SUFFIX, read_record
from .download_unrecorded import check_unrecorded

__all__ = [
    'cache_path', 'named_path', 'fetch_cached', 'fetch_verified',
    'REFUSED_SUFFIX', 'URL_SUFFIX', 'MAX_NAME_BYTES'
]

#: Suffix given to a refused file found in the download cache.
REFUSED_SUFFIX = '.refused'
#: The longest file name (in bytes) a download is cached under; longer
#: ones are shortened. File systems take 255 bytes, and the cache adds a
#: hash of the address, scratch endings and ``.url``.
MAX_NAME_BYTES = 160
_Record = Tuple[str, Dict[str, str]]  # read_record's: address, validators


def cache_path(url: str, model_dir: Optional[str] = None) -> str:
    """Where the download of ``url`` is cached.

    ``<cache>/<file name>``, as PyTorch's hub names it, unless that file
    was downloaded from another address (its ``.url`` record says so):
    then ``<cache>/<hash of the address>-<file name>``. A file without a
    record (put there by hand, or by another tool) is taken as the
    address's, as PyTorch and MMEngine take it; :func:`fetch_verified`
    checks it against the hash its address promises, or warns.

    Args:
        url (str): The address.
        model_dir (str, optional): The cache folder; PyTorch's hub cache
            (``<hub dir>/checkpoints``) if None.

    Returns:
        str: The cached file's path (it, and its folder, may not exist
        yet).

    Raises:
        CheckpointLoadError: If the record at ``<cache>/<file name>`` is
            not text, is a folder, is a link to nothing or cannot be read
            (see :func:`.read_record`).
    """
    cached = named_path(url, model_dir)
    return _place(url, cached, read_record(cached, url))


def _place(url: str, named: str, record: Optional[_Record]) -> str:
    """:func:`cache_path`, given the ``record`` read at ``named``."""
    if record is None or record[0] == url:
        return named
    return osp.join(
        osp.dirname(named), _address_named(url, osp.basename(named)))


def _address_named(url: str, name: str) -> str:
    """``<hash of the address>-<name>``: the one name the cache gives a
    download whose plain file name cannot be the address's (another
    address's download has it, or it is too long)."""
    key = hashlib.sha256(url.encode('utf-8')).hexdigest()[:16]
    return f'{key}-{name}'


def named_path(url: str, model_dir: Optional[str] = None) -> str:
    """``<cache>/<file name>``, as PyTorch's hub names ``url``'s download
    (:func:`cache_path` without reading the record there).

    Args:
        url (str): The address.
        model_dir (str, optional): The cache folder; PyTorch's hub cache
            (``<hub dir>/checkpoints``) if None.

    Returns:
        str: The path (it may not exist). An address whose path ends in
        ``/``, ``/.`` or ``/..`` names no file: ``checkpoint.pth``
        (PyTorch's hub took ``.`` and ``..`` for the cache folder or the
        one above it, and the download could not be put there). A name
        too long for a file with the cache's scratch endings
        (:data:`MAX_NAME_BYTES`) keeps its end, after a hash of the
        address, as an address whose name another address's download
        took is cached (:func:`cache_path`). (Until 2026-12 the hash was
        the name's: such a download, cached under that older name, is not
        found and is downloaded again; the old file is left as it is.)
    """
    name = osp.basename(urlparse(url).path)
    if name in ('', '.', '..'):
        name = 'checkpoint.pth'
    elif len(name.encode('utf-8')) > MAX_NAME_BYTES:
        tail = name
        while len(tail.encode('utf-8')) > MAX_NAME_BYTES // 2:
            tail = tail[1:]
        name = _address_named(url, tail)
    if model_dir is None:
        model_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    return osp.join(model_dir, name)


def _revalidate(url: str, cached: str, validators: Dict[str, str],
                map_location: Any, progress: bool) -> Optional[Any]:
    """Download ``url`` again if the file there changed since ``cached``
    was downloaded (its record's ``validators`` say how it was then); the
    new checkpoint, or None to use the cached one.

    A published name with a hash names one file for good: not asked. A
    server that cannot be asked (offline, an error) leaves the cached copy
    in use, with a warning.
    """
    if not validators or promised_hash(url):
        return None
    try:
        changed = changed_since(url, validators)
    except OSError as e:
        print_log(
            f'Using the cached copy {cached} of {url}, which may be out of '
            'date: the server could not be asked whether the file changed '
            f'({download_failure(e)}).',
            logger='current',
            level=logging.WARNING)
        return None
    if changed is None:
        return None
    print_log(
        f'{url} changed since it was downloaded to {cached} ({changed}): '
        'downloading it again.',
        logger='current',
        level=logging.WARNING)
    return download_into(url, cached, map_location, progress)


def _load_cached(url: str, cached: str, record: Optional[_Record],
                 map_location: Any, progress: bool) -> Any:
    if record is None:
        check_unrecorded(url, cached)
    elif record[0] != url:
        # Its validators are another file's, not to be asked about for url.
        raise CheckpointLoadError(
            f'{cached}{URL_SUFFIX} records that {cached} was downloaded from '
            f'{record[0]!r}, not from {url}: it is not the file {url} names. '
            f'Nothing was deleted; move {cached} and its record away to '
            f'download {url} again.')
    else:
        # Damaged, it is downloaded again whatever the server would say.
        try:
            damage = recorded_hash_mismatch(cached, record[1])
        except FileNotFoundError:
            # Moved aside by another load, to put a new download in place.
            return download_into(url, cached, map_location, progress)
        if damage is not None:
            return download_again(url, cached, damage, map_location, progress)
        fresh = _revalidate(url, cached, record[1], map_location, progress)
        if fresh is not None:
            return fresh
    try:
        return safe_torch_load(cached, map_location=map_location, source=url)
    except CheckpointLoadError as e:
        if e.refused:
            moved = cached + REFUSED_SUFFIX
            # Renamed, so that no loader finds it under its name.
            os.replace(cached, moved)
            raise CheckpointLoadError(
                f'{e} The cached copy was renamed to {moved}.',
                refused=True) from None
        # The error names the address; the file at fault is this one.
        raise CheckpointLoadError(
            f'{e} It is the cached copy {cached}, left as it is: delete it '
            f'and its record {cached}{URL_SUFFIX} to download {url} '
            'again.') from None


def fetch_cached(url: str,
                 model_dir: Optional[str] = None,
                 map_location: Any = None,
                 progress: bool = False) -> Any:
    """Load ``url``'s checkpoint from the download cache, downloading it
    there first if it is missing or changed on the server.

    Placed as :func:`cache_path` places it and loaded as
    :func:`fetch_verified` loads it, with one reading of the record there.

    Args:
        url (str): The address.
        model_dir (str, optional): The cache folder; PyTorch's hub cache
            (``<hub dir>/checkpoints``) if None.
        map_location (Any): Same as :func:`torch.load`. Defaults to None.
        progress (bool): Show a download progress bar. Defaults to False.

    Returns:
        Any: The loaded checkpoint.

    Raises:
        CheckpointLoadError: As :func:`fetch_verified`.
    """
    named = named_path(url, model_dir)
    # Asked before the record is read: a first download writes its record
    # first, so a file found without one was not being downloaded.
    found = osp.isfile(named)
    record = read_record(named, url)
    cached = _place(url, named, record)
    if cached != named:
        found = osp.isfile(cached)
        record = read_record(cached, url)
    return _fetch(url, cached, found, record, map_location, progress)


def fetch_verified(url: str,
                   cached: str,
                   map_location: Any = None,
                   progress: bool = False) -> Any:
    """Load ``cached`` safely, downloading it from ``url`` first if missing.

    Its record is read when it is called: a path :func:`cache_path` gave
    before another load downloaded a new version is loaded with the new
    record. :func:`fetch_cached` places and loads in one step.

    Args:
        url (str): The address.
        cached (str): Its place in the cache (:func:`cache_path`).
        map_location (Any): Same as :func:`torch.load`. Defaults to None.
        progress (bool): Show a download progress bar. Defaults to False.

    Returns:
        Any: The loaded checkpoint.

    Raises:
        CheckpointLoadError: If the download fails, does not match the hash
            in its name, carries code or is damaged (nothing is then kept
            in the cache), if a file found in the cache is refused, if
            its record is not text, is a folder, is a link to nothing,
            cannot be read or names another address, or if the download
            cannot be put in place (its scratch files are then deleted).
    """
    found = osp.isfile(cached)
    return _fetch(url, cached, found, read_record(cached, url), map_location,
                  progress)


def _fetch(url: str, cached: str, found: bool, record: Optional[_Record],
           map_location: Any, progress: bool) -> Any:
    """:func:`fetch_verified`, given whether ``cached`` was ``found`` and
    the ``record`` read there since (a damaged one was refused then, before
    a download that could not be recorded)."""
    if found:
        return _load_cached(url, cached, record, map_location, progress)
    return download_into(url, cached, map_location, progress)
