# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A real pseudo-terminal, for tests of output that only shows on a TTY."""
import contextlib
import os
from typing import Callable, Iterator, TextIO, Tuple

__all__ = ['pseudo_terminal']


@contextlib.contextmanager
def pseudo_terminal() -> Iterator[Tuple[TextIO, Callable[[], str]]]:
    """Open a pseudo-terminal pair.

    Yields:
        tuple: ``(stream, read)``: ``stream`` is a text file on the
        terminal's side (``stream.isatty()`` is True), to pass as a tool's
        ``sys.stderr``; ``read()`` returns what was written to it so far.
        Keep what is written under the kernel's buffer (some kilobytes):
        nothing reads it while the writer runs.
    """
    master, slave = os.openpty()
    os.set_blocking(master, False)
    stream = open(slave, 'w', buffering=1, encoding='utf-8')

    def read() -> str:
        stream.flush()
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            chunks.append(data)
        return b''.join(chunks).decode('utf-8', 'replace')

    try:
        yield stream, read
    finally:
        stream.close()
        os.close(master)
