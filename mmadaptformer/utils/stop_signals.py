# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Stopping a tool (SIGTERM, Ctrl-C, SIGHUP) stops the processes it
started, and the tool ends with one line.

``benchmark_train.py`` measures each mode in a worker process and
``gpu_check.sh`` runs each check in a process of its own session, which
starts the training tools. Python's default SIGTERM and SIGHUP end a
process at once, without running its ``finally`` blocks: ``kill``,
``timeout`` or a batch scheduler stopping either tool, or the terminal
closing under it (an ssh connection dropped), left its worker running on
(a check went on training on the GPU, the JSON said ``running`` for good),
and Ctrl-C ended ``benchmark_train.py`` with a traceback of
``subprocess.communicate``; ``benchmark_infer.py`` and
``benchmark_add_task.py`` left their temporary folder of checkpoints
behind (and the latter its worker running). Under
:func:`stop_signals_raise`, SIGTERM and SIGHUP raise :class:`Stopped` in
the main thread instead, so the code that stops the workers on an
exception runs; :func:`exit_on_stop` runs a tool's work so and ends it
with :func:`stop_line` and :func:`stop_status`.

A signal the process started with ignored stays ignored: ``nohup`` ignores
SIGHUP so that a run outlives its terminal, and a shell script's
background job (``tool &``) ignores Ctrl-C's SIGINT, which the terminal
sends to the script's foreground process group.
"""
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, List, Optional, TypeVar, Union

from .closed_pipe import silence

__all__ = [
    'STOP_SIGNALS', 'Stopped', 'stop_signals_raise', 'stop_line',
    'stop_status', 'exit_on_stop', 'in_finalizer'
]

T = TypeVar('T')

#: The signals that stop a tool, and what sends each (Windows has no
#: SIGHUP).
STOP_SIGNALS = {
    signal.SIGTERM: 'SIGTERM',
    signal.SIGINT: 'Ctrl-C (SIGINT)',
}
if hasattr(signal, 'SIGHUP'):
    STOP_SIGNALS[signal.SIGHUP] = 'SIGHUP (its terminal closed)'
_EVERY_STOP = tuple(STOP_SIGNALS)

#: How long a stop that came inside a finalizer waits to be sent again.
_RESEND_SECONDS = 0.02


class Stopped(BaseException):
    """The process got SIGTERM or SIGHUP. A ``BaseException``, as
    ``KeyboardInterrupt``, so ``except Exception`` does not swallow it.

    Args:
        signum (int): The signal's number.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    def __str__(self) -> str:
        return STOP_SIGNALS.get(self.signum, signal.Signals(self.signum).name)


@contextmanager
def stop_signals_raise(
        signals: Iterable[int] = _EVERY_STOP) -> Iterator[List[int]]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Stopped` and
    Ctrl-C ``KeyboardInterrupt`` in the main thread, for the first stop
    only (the cleanup it starts is not cut short by the next); a signal
    ignored when the block starts (``nohup``) stays ignored. A stop that
    comes while an object's ``__del__`` runs, where Python would drop the
    exception, is sent again once that returns. The former handlers are
    restored afterwards.

    Args:
        signals (Iterable[int]): Those of :data:`STOP_SIGNALS` to handle so;
            the others keep their handlers. Defaults to all of them.

    Yields:
        list[int]: The signals received so far. Code that catches every
        exception (MMEngine's ``Config.pretty_text`` turns any into a
        ``SyntaxError``) may turn :class:`Stopped` into another error:
        this list still says that the process was stopped.
    """
    received: List[int] = []
    raised: List[int] = []
    # Stops sent again by a timer, and the timers not yet run.
    resent: List[int] = []
    timers: List[threading.Timer] = []

    def raise_once(signum, frame):
        if signum in resent:
            resent.remove(signum)
        else:
            received.append(signum)
        # Only the first stop raises: a second Ctrl-C or SIGTERM (pressed
        # again, or a scheduler's resend) would end the cleanup the first
        # one started, leaving processes of other sessions running.
        if raised:
            return
        if in_finalizer(frame):
            # Python prints an exception raised inside ``__del__`` as
            # "Exception ignored in" and goes on: the stop would be lost
            # (decord's VideoReader.__del__ met a Ctrl-C so, and the tool
            # ran to its end). Send it again once the finalizer is done.
            resent.append(signum)
            timer = threading.Timer(_RESEND_SECONDS, os.kill,
                                    (os.getpid(), signum))
            timer.daemon = True
            timers.append(timer)
            timer.start()
            return
        raised.append(signum)
        raise KeyboardInterrupt if signum == signal.SIGINT else \
            Stopped(signum)

    former = {}
    for signum in signals:
        if signal.getsignal(signum) != signal.SIG_IGN:
            former[signum] = signal.signal(signum, raise_once)
    try:
        yield received
    finally:
        for timer in timers:
            timer.cancel()
        for signum, handler in former.items():
            signal.signal(signum, handler)


def in_finalizer(frame) -> bool:
    """Whether ``frame`` runs inside an object's ``__del__``, where an
    exception is printed as "Exception ignored in" and dropped.

    Args:
        frame (FrameType | None): The frame a signal handler was given.
    """
    while frame is not None:
        if frame.f_code.co_name == '__del__':
            return True
        frame = frame.f_back
    return False


def stop_status(exc: Union[KeyboardInterrupt, Stopped]) -> int:
    """The exit status of a tool stopped by ``exc``: 128 + the signal, as
    the shell reports a process the signal ended (130 for Ctrl-C, 143 for
    SIGTERM, 129 for SIGHUP)."""
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
    cause = STOP_SIGNALS[signal.SIGINT] if isinstance(
        exc, KeyboardInterrupt) else str(exc)
    return f'{prog}: stopped by {cause}: {what}'


def exit_on_stop(prog: str,
                 main: Callable[[], T],
                 what: Union[str, Callable[[], Optional[str]]],
                 signals: Iterable[int] = _EVERY_STOP) -> T:
    """Run ``main`` under :func:`stop_signals_raise`; stopped (Ctrl-C,
    SIGTERM, SIGHUP), end the process with :func:`stop_line` on stderr and
    :func:`stop_status`, once ``main``'s ``with`` and ``finally`` blocks
    have run (temporary folders removed, worker processes stopped).

    After a hang-up the terminal is gone and writing to it fails
    (``EIO``): the line is dropped then, and the process still ends with
    :func:`stop_status` (Python would end it with status 120 on failing to
    flush its output).

    Args:
        prog (str): The tool's name, e.g. ``'benchmark_infer.py'``.
        main (Callable): The tool's work.
        what (str | Callable[[], str | None]): What was stopped and what
            is left (see :func:`stop_line`), or a function that says it
            when the stop comes (what a tool leaves depends on how far it
            got); None from it: no line (another process of the same job
            prints it).
        signals (Iterable[int]): The stops it handles
            (:func:`stop_signals_raise`). Defaults to all of
            :data:`STOP_SIGNALS`.

    Returns:
        What ``main`` returns.
    """
    received: List[int] = []
    try:
        with stop_signals_raise(signals) as received:
            return main()
    except (KeyboardInterrupt, Stopped) as exc:
        stop = exc
    except BaseException:
        if not received:
            raise
        # Stopped, which code on the way turned into another error.
        stop = KeyboardInterrupt() if received[0] == signal.SIGINT else \
            Stopped(received[0])
    try:
        sys.stdout.flush()
        left = what() if callable(what) else what
        if left is not None:
            print(stop_line(prog, stop, left), file=sys.stderr, flush=True)
    except OSError:
        # The terminal (or the reader of a pipe) has gone: nobody is left
        # to read the line.
        silence(sys.stdout)
        silence(sys.stderr)
    raise SystemExit(stop_status(stop)) from None
