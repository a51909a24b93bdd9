# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The SHA-256 that a published checkpoint's address promises
(:func:`promised_hash`), and the check of a file against it
(:func:`hash_mismatch`) or against the one recorded when it was downloaded
(:func:`recorded_hash_mismatch`), for the download cache
(:mod:`.download_cache`).
"""
import hashlib
import os.path as osp
import re
from typing import Dict, Optional
from urllib.parse import urlparse

from .download_http import CHUNK_SIZE

__all__ = [
    'HASHED_NAME_HOSTS', 'SHA256_FIELD', 'promised_hash', 'file_sha256',
    'hash_mismatch', 'recorded_hash_mismatch'
]

#: The field of a download's record that holds its SHA-256.
SHA256_FIELD = 'sha256'

#: The servers whose file names promise their SHA-256 (see
#: :func:`promised_hash`).
HASHED_NAME_HOSTS = ('download.openmmlab.com', 'download.pytorch.org')
# Their convention: ``-<8 hexadecimal digits>.`` before the extension.
_NAME_HASH = re.compile(r'-([0-9a-f]{8})\.[A-Za-z0-9]+$')


def promised_hash(url: str) -> Optional[str]:
    """The SHA-256 prefix a published checkpoint's address promises, if any.

    OpenMMLab and PyTorch name the files they publish with the first 8
    hexadecimal digits of their SHA-256 before the extension
    (``.../vit-base_20220623-4c544545.pth``; PyTorch's hub checks that
    form when asked to). Only their servers (:data:`HASHED_NAME_HOSTS`)
    are taken at their word: elsewhere such a name may be a UUID's tail or
    a commit, not a promise. Digits alone (``-20221212.pth``) are a date.

    Args:
        url (str): The address.

    Returns:
        str | None: The hexadecimal prefix, or None.
    """
    parsed = urlparse(url)
    if parsed.hostname not in HASHED_NAME_HOSTS:
        return None
    match = _NAME_HASH.search(osp.basename(parsed.path))
    if match is None or match.group(1).isdigit():
        return None
    return match.group(1)


def file_sha256(path: str) -> str:
    """The SHA-256 of the file ``path``, read in chunks.

    Args:
        path (str): The file.

    Returns:
        str: The hexadecimal digest.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(CHUNK_SIZE), b''):
            digest.update(chunk)
    return digest.hexdigest()


def hash_mismatch(path: str,
                  url: str,
                  actual: Optional[str] = None) -> Optional[str]:
    """Why the file ``path`` does not match the hash ``url`` promises.

    Args:
        path (str): The file, downloaded from ``url`` or found in the
            cache under its name.
        url (str): The address.
        actual (str, optional): ``path``'s SHA-256 (:func:`file_sha256`),
            where the caller has it already: the file is then not read
            again. Defaults to None (it is read, if ``url`` promises a
            hash).

    Returns:
        str | None: What differs, to be said in an error; None if the file
        matches, or if ``url`` promises no hash.
    """
    expected = promised_hash(url)
    if expected is None:
        return None
    if actual is None:
        actual = file_sha256(path)
    if actual.startswith(expected):
        return None
    return (f'its SHA-256 starts with {actual[:len(expected)]}, the hash in '
            f'its name is {expected}')


def recorded_hash_mismatch(cached: str, recorded: Dict[str, str]) -> \
        Optional[str]:
    """Why the cached file ``cached`` is not the download its record
    describes: its SHA-256 is not the one recorded at the download.

    PyTorch's loader reads a checkpoint without checking its zip's CRCs,
    so a cached copy damaged on disk (a flipped bit, a bad sector) would
    load with other weights and no error.

    Args:
        cached (str): A file in the download cache.
        recorded (dict[str, str]): Its record's fields; a record written
            before hashes were recorded has no :data:`SHA256_FIELD`, and
            nothing is checked.

    Returns:
        str | None: What differs, to be said in a warning or an error;
        None if the file matches or no hash was recorded.
    """
    expected = recorded.get(SHA256_FIELD)
    if not expected:
        return None
    actual = file_sha256(cached)
    if actual == expected:
        return None
    return (f'its SHA-256 is {actual}, not the {expected} recorded when it '
            'was downloaded: it was damaged or changed in the cache')
