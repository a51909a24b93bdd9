# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One GPU check in this process, as the runner starts it: this module
with the arguments ``NAME CONTEXT OUT``
(:func:`~mmadaptformer.benchmark.worker_process.worker_command`).

A check that ends the process (``SystemExit``: ``parser.error`` of a tool
function it calls, ``sys.exit``) is recorded as an ``error`` result with
the exit status and what was printed; it used to end this process without
a result (``the check process exited 2 without a result``). The exit of
a check the runner stops (SIGTERM) still ends it.
"""
import contextlib
import json
import signal
import sys
import time
import traceback
from typing import Any

from mmadaptformer.benchmark.gpu_check import CHECKS, SkipCheck
from mmadaptformer.benchmark.gpu_check.commands import stop_running_tools


class CheckStopped(SystemExit):
    """The exit of a check that the runner stopped (SIGTERM): not a result
    of the check, so :func:`run_check` lets it end the process."""


class StderrTail:
    """Writes through to ``stream`` and keeps the last ``size`` characters
    written, for the message a check printed before it exited.

    Args:
        stream: The text stream written to (``sys.stderr``).
        size (int): How many characters are kept. Defaults to 6000.
    """

    def __init__(self, stream: Any, size: int = 6000) -> None:
        self.stream = stream
        self.size = size
        self.text = ''

    def write(self, text: str) -> int:
        self.text = (self.text + text)[-self.size:]
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        # flush, fileno, isatty, encoding...: the stream's own.
        return getattr(self.stream, name)


def exit_result(error: SystemExit, printed: str) -> dict:
    """The ``error`` result of a check that raised ``SystemExit``.

    Args:
        error (SystemExit): What the check raised.
        printed (str): What it wrote to stderr before.

    Returns:
        dict: ``status`` ``error``, ``exit_code`` (the process's status
        had the exit not been caught) and ``reason``:
        ``'SystemExit(CODE): MESSAGE'`` with the message ``sys.exit`` was
        given, else the ``PROG: error: ...`` lines ``parser.error``
        printed (after its usage), else the last lines printed.
    """
    code = error.code
    if code is not None and not isinstance(code, int):
        # sys.exit('text'): Python would print the text and exit 1.
        status, message = 1, str(code)
    else:
        status = 0 if code is None else code
        lines = [line for line in printed.splitlines() if line.strip()]
        errors = [i for i, line in enumerate(lines) if ': error: ' in line]
        lines = lines[errors[-1]:] if errors else lines[-5:]
        message = '\n'.join(lines) or 'nothing was printed'
    return dict(
        status='error',
        exit_code=status,
        reason=f'SystemExit({status}): {message}')


def run_check(name: str, ctx: dict) -> dict:
    """Run the check ``name``; an exception, or an exit of the check
    (``SystemExit``, e.g. from ``parser.error``), becomes an ``error``
    result. :class:`CheckStopped` and ``KeyboardInterrupt`` go on.

    Args:
        name (str): A key of :data:`CHECKS`.
        ctx (dict): The check context.

    Returns:
        dict: The result with ``status`` (``passed``, ``failed``,
        ``skipped`` or ``error``) and ``seconds``.
    """
    start = time.perf_counter()
    stderr = StderrTail(sys.stderr)
    try:
        with contextlib.redirect_stderr(stderr):
            result = CHECKS[name][1](ctx)
    except SkipCheck as e:
        result = dict(status='skipped', reason=str(e))
    except CheckStopped:
        raise
    except SystemExit as e:  # recorded in the results, not swallowed
        result = dict(
            exit_result(e, stderr.text),
            traceback=traceback.format_exc()[-6000:])
    except Exception as e:  # recorded in the results, not swallowed
        result = dict(
            status='error',
            reason=f'{type(e).__name__}: {e}',
            traceback=traceback.format_exc()[-6000:])
    result['seconds'] = time.perf_counter() - start
    return result


def main() -> None:
    """Run ``argv[1]`` with the context file ``argv[2]`` into
    ``argv[3]``."""
    name, context, out = sys.argv[1:4]

    def on_sigterm(signum, frame):
        # The runner stops a check that ran out of time: its tools go too.
        stop_running_tools()
        raise CheckStopped(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)
    with open(context) as f:
        ctx = json.load(f)
    result = run_check(name, ctx)
    with open(out, 'w') as f:
        json.dump(result, f, indent=2, default=str)
    if result.get('traceback'):
        print(result['traceback'], file=sys.stderr)


if __name__ == '__main__':
    main()
