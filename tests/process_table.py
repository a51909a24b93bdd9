# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The live processes, read from ``/proc``, for the tests that stop a tool
and check that what it started stopped too."""
import os
import signal
import time
from typing import Callable, List


def child_pids(pid: int) -> List[int]:
    """The live pids whose parent is ``pid``."""
    found = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        # The fields after the command, which is in parentheses.
        fields = stat.rsplit(')', 1)[1].split()
        if int(fields[1]) == pid and fields[0] != 'Z':
            found.append(int(name))
    return found


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def pids_running_with(text: str) -> List[int]:
    """The live pids, this one's left out, whose command line holds
    ``text``."""
    found = []
    for name in os.listdir('/proc'):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f'/proc/{name}/cmdline', 'rb') as f:
                cmdline = f.read().decode(errors='replace')
        except OSError:
            continue
        if text in cmdline and is_alive(int(name)):
            found.append(int(name))
    return found


def default_stop_signals() -> None:
    """A ``preexec_fn``: SIGINT and SIGHUP with their default actions, as
    a terminal's foreground tool has them. A test runner may have them
    ignored (``nohup``, a script's background job), which children
    inherit and the tools keep."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def wait_until_ready(proc, ready: Callable[[], bool], seconds: float,
                     what: str) -> None:
    """Poll ``ready()`` while ``proc`` runs: fail with its output if it
    ends first, or with ``what`` if ``seconds`` pass."""
    deadline = time.time() + seconds
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, what
        time.sleep(0.2)


def left_running_with(text: str, seconds: float = 30) -> List[int]:
    """:func:`pids_running_with` ``text`` once they are gone, or after
    ``seconds``."""
    deadline = time.time() + seconds
    while pids_running_with(text) and time.time() < deadline:
        time.sleep(0.2)
    return pids_running_with(text)
