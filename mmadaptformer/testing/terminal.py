# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A real pseudo-terminal, for tests of output that only shows on a TTY."""
import contextlib
import os
import select
import threading
import time
from typing import Callable, Iterator, List, TextIO, Tuple

__all__ = ['pseudo_terminal']


@contextlib.contextmanager
def pseudo_terminal() -> Iterator[Tuple[TextIO, Callable[[], str]]]:
    """Open a pseudo-terminal pair.

    A thread reads the terminal's other side as it is written: the kernel
    holds only some kilobytes there, and a writer with more to say (a
    progress bar redrawn often on a loaded machine) blocked in ``write``
    for good, as nothing read it while the writer ran.

    Yields:
        tuple: ``(stream, read)``: ``stream`` is a text file on the
        terminal's side (``stream.isatty()`` is True), to pass as a tool's
        ``sys.stderr``; ``read()`` returns what was written to it so far.
    """
    master, slave = os.openpty()
    stream = open(slave, 'w', buffering=1, encoding='utf-8')
    chunks: List[bytes] = []
    lock = threading.Lock()
    done = threading.Event()

    def drain() -> None:
        while not done.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            with lock:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the terminal's side was closed.
                    return
                if not data:
                    return
                chunks.append(data)

    marks: List[str] = []

    def read() -> str:
        # A mark written after what is there: once the thread has read it,
        # it has read everything before it (the kernel hands the bytes on
        # in their order, but later than write() returns).
        marks.append(f'\0read {len(marks)}\0')
        stream.write(marks[-1])
        stream.flush()
        deadline = time.monotonic() + 30
        while True:
            with lock:
                text = b''.join(chunks).decode('utf-8', 'replace')
            if marks[-1] in text or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        for mark in marks:
            text = text.replace(mark, '')
        return text

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        yield stream, read
    finally:
        stream.close()
        done.set()
        reader.join()
        os.close(master)
