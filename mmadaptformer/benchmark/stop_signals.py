# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Stopping a benchmark tool (SIGTERM, Ctrl-C) stops the processes it
started, and the tool ends with one line.

``benchmark_train.py`` measures each mode in a worker process and
``gpu_check.sh`` runs each check in a process of its own session, which
starts the training tools. Python's default SIGTERM ends a process at once,
without running its ``finally`` blocks: ``kill``, ``timeout`` or a batch
scheduler stopping either tool left its worker running on (a check went on
training on the GPU, the JSON said ``running`` for good), and Ctrl-C ended
``benchmark_train.py`` with a traceback of ``subprocess.communicate``.
Under :func:`stop_signals_raise`, SIGTERM raises :class:`Stopped` in the
main thread instead, so the code that stops the workers on an exception
runs; :func:`stop_line` is what the tool prints on its way out.
"""
import signal
from contextlib import contextmanager
from typing import Iterator, Union

__all__ = ['Stopped', 'stop_signals_raise', 'stop_line', 'stop_status']


class Stopped(BaseException):
    """The process got SIGTERM. A ``BaseException``, as
    ``KeyboardInterrupt``, so ``except Exception`` does not swallow it.

    Args:
        signum (int): The signal's number.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    def __str__(self) -> str:
        return signal.Signals(self.signum).name


@contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Stopped` in the main
    thread; the former handler is restored afterwards."""

    def raise_stopped(signum, frame):
        raise Stopped(signum)

    former = signal.signal(signal.SIGTERM, raise_stopped)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, former)


def stop_status(exc: Union[KeyboardInterrupt, Stopped]) -> int:
    """The exit status of a tool stopped by ``exc``: 128 + the signal, as
    the shell reports a process the signal ended (130 for Ctrl-C, 143 for
    SIGTERM)."""
    signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
    return 128 + int(signum)


def stop_line(prog: str, exc: Union[KeyboardInterrupt, Stopped],
              what: str) -> str:
    """The one line a stopped tool ends with.

    Args:
        prog (str): The tool's name, e.g. ``'benchmark_train.py'``.
        exc (KeyboardInterrupt | Stopped): What stopped it.
        what (str): What was stopped and what is left, e.g. ``'its worker
            process was stopped; nothing was written'``.
    """
    cause = 'Ctrl-C (SIGINT)' if isinstance(exc,
                                            KeyboardInterrupt) else str(exc)
    return f'{prog}: stopped by {cause}: {what}'
