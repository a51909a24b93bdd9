# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A new download into the download cache (:mod:`.download_cache`).

:func:`download_into` downloads an address to a scratch file in a folder
of its own in the cache folder, which no other user can write in
(:mod:`.download_scratch`), records the server's validators and the
file's SHA-256, refuses a file that does not match the hash its name
promises (:mod:`.download_hash`) or that carries code
(:func:`.safe_torch_load`), and only then puts it in place with its
``.url`` record (:mod:`.download_keep`). A refused, broken or unkept
download leaves no scratch files. :func:`download_again` does it in place
of a cached copy found damaged, saying so.
"""
import logging
import os
import os.path as osp
from typing import Any, BinaryIO, Dict, Tuple

from mmengine.logging import print_log

from .checkpoint_formats import SAFETENSORS_SUFFIX
from .checkpoint_loading import CheckpointLoadError, safe_torch_load
from .download_hash import SHA256_FIELD, file_sha256, hash_mismatch
from .download_http import download_failure, fetch_to_file
from .download_keep import keep_download
from .download_records import URL_SUFFIX
from .download_scratch import downloads_in_progress, scratch_folder

__all__ = ['download_again', 'download_into']


def download_again(url: str, cached: str, damage: str, map_location: Any,
                   progress: bool) -> Any:
    """Replace the cached copy ``cached``, which is not the download its
    record describes, with a new download of ``url``.

    A WARNING names the copy and its damage; an INFO line instead where
    another load's scratch folder is there: that load puts its file in
    place before its record (:mod:`.download_keep`), so the copy is being
    replaced, not damaged.

    Args:
        url (str): The address.
        cached (str): The cached copy.
        damage (str): How it differs from its record
            (:func:`.recorded_hash_mismatch`).
        map_location (Any): Same as :func:`torch.load`.
        progress (bool): Show a download progress bar.

    Returns:
        Any: The new download's checkpoint.

    Raises:
        CheckpointLoadError: As :func:`download_into`; it adds that the
            damaged copy was left, and what to delete.
    """
    busy = downloads_in_progress(cached)
    if busy:
        print_log(
            f'The cached copy {cached} of {url} does not match its record '
            'while another load puts a new download of it in place (its '
            f'scratch folder {busy[0]} is there): downloading it again.',
            logger='current',
            level=logging.INFO)
    else:
        print_log(
            f'The cached copy {cached} of {url} is damaged ({damage}): '
            'downloading it again.',
            logger='current',
            level=logging.WARNING)
    try:
        return download_into(url, cached, map_location, progress)
    except CheckpointLoadError as e:
        raise CheckpointLoadError(
            f'{e} The cached copy {cached} is damaged ({damage}) and was '
            'left as it is: delete it and its record '
            f'{cached}{URL_SUFFIX} once {url} can be downloaded.',
            refused=e.refused) from None


def _download(url: str, scratch: BinaryIO, partial: str, cached: str,
              map_location: Any, progress: bool) -> Tuple[Any, Dict[str, str]]:
    """Download ``url`` into ``scratch`` (the open file ``partial``) and
    load it safely; the checkpoint and the server's validators."""
    folder = osp.dirname(cached)
    try:
        with scratch:
            validators = fetch_to_file(url, scratch, progress)
    except OSError as e:
        # urllib's URLError and HTTPError are OSErrors: a 404 or 403, a
        # refused connection, an unknown host.
        raise CheckpointLoadError(
            f'Could not download checkpoint {url}: '
            f'{download_failure(e)}. Nothing was kept in '
            f'the cache {folder}.') from None
    # Recorded, so that a copy damaged in the cache later is told apart.
    digest = validators[SHA256_FIELD] = file_sha256(partial)
    mismatch = hash_mismatch(partial, url, actual=digest)
    if mismatch is not None:
        raise CheckpointLoadError(
            f'The download of {url} is not the file its name promises: '
            f'{mismatch}. It is damaged, or the address serves another '
            f'file; nothing was kept in the cache {folder}.')
    try:
        checkpoint = safe_torch_load(
            partial, map_location=map_location, source=url)
    except CheckpointLoadError as e:
        raise CheckpointLoadError(
            f'{e} The download was deleted; nothing was kept in the '
            f'cache {folder}.',
            refused=e.refused) from None
    return checkpoint, validators


def download_into(url: str, cached: str, map_location: Any,
                  progress: bool) -> Any:
    """Download ``url``, load it safely, and only then make it ``cached``
    (with its record).

    Args:
        url (str): The address.
        cached (str): Its place in the cache (:func:`.cache_path`).
        map_location (Any): Same as :func:`torch.load`.
        progress (bool): Show a download progress bar.

    Returns:
        Any: The loaded checkpoint.

    Raises:
        CheckpointLoadError: If the download fails, does not match the hash
            in its name, carries code or is damaged, or cannot be put in
            place; its scratch files are then deleted and nothing is kept.
    """
    # torch.load tells a safetensors file by its name, so the download
    # keeps that ending while it is checked.
    ending = SAFETENSORS_SUFFIX if cached.endswith(SAFETENSORS_SUFFIX) else ''
    with scratch_folder(cached) as private:
        # Its scratch files (the download, its record's, the old copy's)
        # are made in a folder no other user can write in, named through
        # the folder held open (see download_scratch).
        partial = osp.join(private, osp.basename(cached) + '.partial' + ending)
        scratch = os.fdopen(
            os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
            'wb')
        try:
            checkpoint, validators = _download(url, scratch, partial, cached,
                                               map_location, progress)
            keep_download(url, partial, cached, validators)
        except BaseException:
            # A refused, broken or unkept download leaves no scratch files
            # (write_record deletes its own, partial + URL_SUFFIX, if it
            # fails); scratch_folder then deletes the folder.
            if osp.lexists(partial):
                os.remove(partial)
            raise
    return checkpoint
