# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The files of the checkpoint download cache (:mod:`.download_cache`)
that a tool must not write over.

A tool that writes a file asks :func:`cached_download` and
:func:`cached_record` first (through
:func:`.output_file.output_file_problem`): writing over a download would
keep its record, and the cache would hand the written file out as the
address's; writing over a record would leave a load of its address unable
to read it.
"""
import os.path as osp
from typing import Iterable, Optional, Tuple
from urllib.parse import urlparse

from .checkpoint_loading import CheckpointLoadError
from .download_cache import cache_path, named_path
from .download_records import URL_SUFFIX, record_address
from .local_files import same_file

__all__ = ['cached_download', 'cached_record']


def _checked_cache_path(url: str) -> str:
    """:func:`cache_path` for an output check: where the file name's record
    is damaged (not text, a folder, or unreadable), that name (a load of
    ``url`` refuses the damaged record, and writing there would only add to
    the damage)."""
    try:
        return cache_path(url)
    except CheckpointLoadError:
        return named_path(url)


def _about_to_download(path: str, urls: Iterable[str],
                       suffix: str) -> Optional[Tuple[str, str]]:
    """The cached file and address of the first ``http(s)`` one of
    ``urls`` whose download (``suffix`` ``''``) or record (``suffix``
    :data:`URL_SUFFIX`) ``path`` is."""
    for url in urls:
        if urlparse(url).scheme in ('http', 'https'):
            cached = _checked_cache_path(url)
            if same_file(path, cached + suffix):
                return cached, url
    return None


def cached_download(path: str,
                    urls: Iterable[str]) -> Optional[Tuple[str, str]]:
    """The cached download that writing ``path`` would replace, if any.

    Writing there would keep the download's ``.url`` record, so a later
    load of its address would take the written file for the download (the
    server's validators have not changed) and silently get it instead.

    Args:
        path (str): A local path about to be written.
        urls (Iterable[str]): Addresses that are about to be downloaded
            (the ``http(s)://`` ones are looked up in PyTorch's hub cache,
            as :func:`cache_path` places them, whether or not they were
            downloaded yet).

    Returns:
        tuple[str, str] | None: The cached file (as the cache names it) and
        its address: the one its record names where ``path`` is a recorded
        download, else the first of ``urls`` whose download ``path`` is.
    """
    # Through a link too: writing it replaces what it points to.
    real = osp.realpath(path)
    recorded = record_address(real) if osp.isfile(real) else None
    if recorded:
        return real, recorded
    return _about_to_download(path, urls, '')


def cached_record(path: str, urls: Iterable[str]) -> Optional[Tuple[str, str]]:
    """The cached download whose ``.url`` record writing ``path`` would
    replace, if any.

    A load of the address reads that record (its address, the server's
    validators) to place and check the download; a file written over it
    is not one, and the load fails or downloads the address again beside
    the old copy.

    Args:
        path (str): A local path about to be written.
        urls (Iterable[str]): Addresses that are about to be downloaded,
            as for :func:`cached_download` (their record is written with
            the download, before the tool writes its output).

    Returns:
        tuple[str, str] | None: The cached file the record describes (its
        record is that name and :data:`URL_SUFFIX`; the file may be gone)
        and its address: where ``path`` is the record of a download, the
        one its first line names, else the first of ``urls`` whose record
        ``path`` is.
    """
    real = osp.realpath(path)
    if real.endswith(URL_SUFFIX) and osp.isfile(real):
        cached = real[:-len(URL_SUFFIX)]
        recorded = record_address(cached)
        if recorded:
            return cached, recorded
    return _about_to_download(path, urls, URL_SUFFIX)
