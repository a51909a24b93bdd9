# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Download a file from an address, and ask its server whether it changed.

The server's validators of a download (:data:`VALIDATORS`) are what
:mod:`~mmadaptformer.utils.download_cache` records next to a cached copy
and compares before it uses it again.
"""
from typing import BinaryIO, Dict, Optional
from urllib.error import HTTPError
from urllib.parse import urlparse
from urllib.request import HTTPRedirectHandler, Request, build_opener

from torch.hub import tqdm

__all__ = [
    'CHUNK_SIZE', 'VALIDATORS', 'fetch_to_file', 'changed_since',
    'download_failure'
]

#: Bytes read at a time.
CHUNK_SIZE = 1 << 20
#: The response headers that tell whether the file at an address changed,
#: compared in this order.
VALIDATORS = ('etag', 'last-modified', 'content-length')
# Seconds to wait for a server.
_TIMEOUT = 30
# The statuses of a server that refuses HEAD but may answer GET.
_HEAD_REFUSED = (403, 405, 501)


class _WebRedirects(HTTPRedirectHandler):
    """Follows a redirect to an ``http(s)`` address only.

    urllib also follows one to ``ftp://``: a server could send the
    download to an FTP server of the user's network (and the failure read
    as the first server's, ``Connection refused``).
    """

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlparse(newurl).scheme not in ('http', 'https'):
            raise HTTPError(
                newurl, code, f'{msg}: redirected to {newurl}, which is not '
                'an http(s) address, and not followed', headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = build_opener(_WebRedirects)


def _open(request: Request):
    """``urlopen(request)``, following only redirects to ``http(s)``."""
    return _OPENER.open(request, timeout=_TIMEOUT)


def _validators(headers) -> Dict[str, str]:
    return {
        name: headers[name]
        for name in VALIDATORS if headers.get(name) is not None
    }


def fetch_to_file(url: str, file: BinaryIO, progress: bool) -> Dict[str, str]:
    """Download ``url`` into ``file``; the response's validators.

    Args:
        url (str): The address.
        file (BinaryIO): The file to write, opened by the caller (the
            download cache's scratch file, in a folder of its own:
            :mod:`.download_scratch`).
        progress (bool): Show a progress bar.

    Returns:
        dict[str, str]: The response's :data:`VALIDATORS`.

    Raises:
        OSError: A failed request (urllib's errors are OSErrors), or a
            download shorter or longer than its ``Content-Length``.
    """
    request = Request(url, headers={'User-Agent': 'mmadaptformer'})
    with _open(request) as response:
        validators = _validators(response.headers)
        size = validators.get('content-length')
        expected = int(size) if size and size.isdigit() else None
        written = 0
        with tqdm(
                total=expected,
                disable=not progress,
                unit='B',
                unit_scale=True,
                unit_divisor=1024) as bar:
            for chunk in iter(lambda: response.read(CHUNK_SIZE), b''):
                file.write(chunk)
                written += len(chunk)
                bar.update(len(chunk))
    if expected is not None and written != expected:
        raise OSError(f'the server announced {expected} bytes and sent '
                      f'{written}')
    return validators


def changed_since(url: str, recorded: Dict[str, str]) -> Optional[str]:
    """How the file at ``url`` differs from the download ``recorded``
    describes (a validator that changed); None if it does not, or if the
    server gives nothing to compare.

    A server that refuses ``HEAD`` (405, 501; 403 for pre-signed links,
    which sign the method) is asked with a ``GET`` whose body is not read.

    Args:
        url (str): The address.
        recorded (dict[str, str]): The validators of the download, as
            :func:`fetch_to_file` returned them.

    Returns:
        str, optional: The validator that changed, its old and new value.

    Raises:
        OSError: If the server cannot be asked (offline, an error status).
    """
    headers = {'User-Agent': 'mmadaptformer'}
    try:
        with _open(Request(url, method='HEAD', headers=headers)) as response:
            current = _validators(response.headers)
    except HTTPError as e:
        if e.code not in _HEAD_REFUSED:
            raise
        with _open(Request(url, headers=headers)) as response:
            current = _validators(response.headers)
    for name in VALIDATORS:
        if name in recorded and name in current \
                and recorded[name] != current[name]:
            return f'its {name} was {recorded[name]}, now {current[name]}'
    return None


def download_failure(error: OSError) -> str:
    """What went wrong in a download, for an error: an HTTP status as its
    code and reason (``HTTP 404 File not found``; urllib's ``reason`` alone
    dropped the code), urllib's reason for a connection
    (``[Errno 111] Connection refused``), else the error's text.

    Args:
        error (OSError): What urllib (or the download) raised.

    Returns:
        str: One line.
    """
    if isinstance(error, HTTPError):
        reason = str(error.reason or '')
        looped = reason.startswith(HTTPRedirectHandler.inf_msg)
        if looped:
            # urllib's three lines: the last redirect's reason after them.
            reason = reason[len(HTTPRedirectHandler.inf_msg):]
        reason = ' '.join(reason.split())
        line = f'HTTP {error.code}' + (f' {reason}' if reason else '')
        if looped:
            line += (': the server redirects in a loop (or more than '
                     f'{HTTPRedirectHandler.max_redirections} times) and '
                     'never sends the file')
        return line
    return ' '.join(str(getattr(error, 'reason', None) or error).split())
