# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Run test code where file permissions apply, also when the tests run as
root (who reads and writes any file regardless of its mode bits)."""
import os
import shutil
import tempfile
from typing import Callable, Iterator

import pytest

#: The ``nobody`` user and group of Linux.
NOBODY = 65534


def as_another_user(work: Callable[[], str]) -> str:
    """``work()``'s result: as root, in a forked child that became
    ``nobody`` first (an exception is answered as ``Name: message``); else
    in this process. Paths ``work`` uses must be open to other users.

    Args:
        work (callable): Returns a string.

    Returns:
        str: What ``work`` returned.
    """
    if os.geteuid() != 0:
        return work()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child answers through the pipe
        # Whatever happens, the child ends here: a child that raised out
        # of this function would go on running the test session as nobody.
        try:
            os.close(read_end)
            try:
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                answer = work()
                if not isinstance(answer, str):
                    raise TypeError('work() must return a str, but returned '
                                    f'{answer!r}')
            except BaseException as e:
                answer = f'{type(e).__name__}: {e}'
            with os.fdopen(write_end, 'w') as f:
                f.write(answer)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as f:
        answer = f.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError(f'The child that ran {work!r} as nobody ended '
                           f'with wait status {status}, not 0.')
    return answer


@pytest.fixture
def open_tmp_path() -> Iterator[str]:
    """A fresh folder that other users can enter and read (pytest's
    ``tmp_path`` lies in a folder private to its user), deleted after the
    test."""
    path = tempfile.mkdtemp(prefix='mmadaptformer-other-user-')
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        for folder, dirs, _ in os.walk(path):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o755)
        shutil.rmtree(path)
