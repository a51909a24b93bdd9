# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A real HTTP server on 127.0.0.1 for the tests of remote loading, and a
pickle payload that runs code when it is unpickled."""
import contextlib
import functools
import http.server
import os
import threading
from typing import Iterator, Type


class CodePayload:
    """Pickles as ``os.system('touch MARKER')``: the marker file is there
    only if something unpickled it with code allowed."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder without a log line per request."""

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(
    root,
    handler: Type[http.server.BaseHTTPRequestHandler] = QuietHandler
) -> Iterator[http.server.ThreadingHTTPServer]:
    """Serve the folder ``root`` on 127.0.0.1 (a free port) while the block
    runs.

    Args:
        root: The folder.
        handler: The request handler class; it takes ``directory``.

    Yields:
        ThreadingHTTPServer: The running server; its ``url`` is
        ``http://127.0.0.1:PORT``.
    """
    httpd = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    httpd.url = f'http://127.0.0.1:{httpd.server_address[1]}'
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
