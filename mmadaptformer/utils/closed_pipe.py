# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Standard output of a command line tool whose reader may go away
(``tools/infer.py ... | head -1``)."""
import os
import sys
from typing import Any, Callable, Optional, TextIO

__all__ = [
    'BROKEN_PIPE_STATUS', 'ResultOutput', 'exit_quietly_on_closed_pipe',
    'silence'
]

#: The exit status when the reader of stdout went away before the results
#: were all written (``tools/infer.py ... | head -1``): 128 + SIGPIPE, the
#: status the shell reports for ``cat`` or ``grep`` ended by SIGPIPE there,
#: which scripts under ``set -o pipefail`` already tell apart from a
#: failure (1).
BROKEN_PIPE_STATUS = 141


def silence(stream: TextIO) -> None:
    """Point ``stream``'s file descriptor at :data:`os.devnull`.

    Python ignores SIGPIPE, so a write into a pipe whose reader has exited
    raises :class:`BrokenPipeError`, and so does the flush of what is still
    buffered when the interpreter exits ("Exception ignored ...", status
    120). Pointed at ``os.devnull``, as the Python docs' "Note on SIGPIPE"
    advises, the stream takes those writes without a word.

    Args:
        stream (TextIO): ``sys.stdout`` or ``sys.stderr``.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


class ResultOutput:
    """Standard output for the results, which stops quietly once its reader
    has gone (``tools/infer.py ... | head -1``) instead of ending the run
    with a :class:`BrokenPipeError` traceback.

    The run goes on (an ``--out`` file is still written); :attr:`gone`
    tells the caller to exit with :data:`BROKEN_PIPE_STATUS`.

    Args:
        stream (TextIO, optional): The stream. Defaults to None
            (``sys.stdout``).
    """

    def __init__(self, stream: Optional[TextIO] = None) -> None:
        self.stream = sys.stdout if stream is None else stream
        self.gone = False

    def print(self, text: str) -> None:
        """Write ``text`` and a newline, unless the reader has gone."""
        if not self.gone:
            try:
                print(text, file=self.stream)
            except BrokenPipeError:
                self._reader_gone()

    def flush(self) -> None:
        """Write what is buffered (a pipe is block-buffered), unless the
        reader has gone."""
        if not self.gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._reader_gone()

    def _reader_gone(self) -> None:
        self.gone = True
        # What is still buffered goes to os.devnull at the next flush.
        silence(self.stream)


def exit_quietly_on_closed_pipe(main: Callable[[], Any]) -> Any:
    """Run ``main()``; if the reader of its output went away
    (``... | head -1``), end with status 141 (128 + SIGPIPE) instead of a
    :class:`BrokenPipeError` traceback. What ``main`` wrote to its files
    before is kept.

    Args:
        main (callable): The tool's work, without arguments.

    Returns:
        Any: What ``main`` returns.
    """
    try:
        result = main()
        sys.stdout.flush()
        return result
    except BrokenPipeError:
        silence(sys.stdout)
        silence(sys.stderr)
        raise SystemExit(BROKEN_PIPE_STATUS) from None
