# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What the download cache (:mod:`.download_cache`) does with a file found
at an address's place without a ``.url`` record (put there by hand, or by
another tool): the trust it gives it.

A file whose address promises a hash (:func:`.promised_hash`) must match
it, and then gets a record, with its SHA-256 as a download's record has
it: later loads check it against the whole hash, as a download's. A file
without such a promise is used with a warning naming it, since nothing
shows that it is the address's.
"""
import logging
import uuid

from mmengine.logging import print_log

from .checkpoint_loading import CheckpointLoadError
from .download_hash import (SHA256_FIELD, file_sha256, hash_mismatch,
                            promised_hash)
from .download_records import URL_SUFFIX, write_record

__all__ = ['check_unrecorded']


def check_unrecorded(url: str, cached: str) -> None:
    """Vouch for a cached file that has no record of its address: it must
    match the hash its address promises (:func:`.promised_hash`), and then
    gets a record (with its SHA-256); without a promise it is used with a
    warning.

    Args:
        url (str): The address being loaded.
        cached (str): The file found at its place in the cache.

    Raises:
        CheckpointLoadError: If the file does not match the promised hash;
            it is left where it is.
    """
    if promised_hash(url) is None:
        print_log(
            f'Using {cached} for {url}: it was found in the download cache '
            'without a record of its address, and is taken as the '
            'address\'s because its name matches. If it is another file of '
            'that name, move it away to download the address.',
            logger='current',
            level=logging.WARNING)
        return
    digest = file_sha256(cached)
    mismatch = hash_mismatch(cached, url, actual=digest)
    if mismatch is not None:
        raise CheckpointLoadError(
            f'{cached}, found in the download cache without a record of '
            f'its address, is not the file {url} names: {mismatch}. It was '
            'left where it is; move it away to download the address again.')
    # Its content is what the name promises: recorded as a download's
    # (its SHA-256 too), a copy damaged later is told apart by it.
    try:
        # A scratch name of its own: a fixed one, in a cache others can
        # write in, could be taken first.
        write_record(f'{cached}.{uuid.uuid4().hex}.record', url, cached,
                     {SHA256_FIELD: digest})
    except OSError as e:
        # The file is vouched for all the same; unrecorded, the next load
        # only hashes it again.
        print_log(
            f'Using {cached} for {url} (its SHA-256 matches the hash in its '
            'name), but its record could not be written '
            f'({e.strerror or e}; {type(e).__name__}): each load hashes it '
            f'again until {cached}{URL_SUFFIX} can be written.',
            logger='current',
            level=logging.WARNING)
