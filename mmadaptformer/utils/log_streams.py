# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Keep MMEngine's log lines off stdout, for tools whose stdout holds their
results (``tools/infer.py``, the analysis tools)."""
import contextlib
import logging
import sys
from typing import Iterator

from mmengine.logging import MMLogger

__all__ = ['results_only_stdout']


@contextlib.contextmanager
def results_only_stdout() -> Iterator[None]:
    """Keep MMEngine's log lines off stdout while the block runs, so that
    stdout holds what a tool (``tools/infer.py``, the analysis tools)
    prints as results alone.

    MMEngine's logger prints to stdout (its ``StreamHandler`` is made with
    ``sys.stdout``), so its warnings (``"FileClient" will be deprecated``,
    a folder's left-out files, the videos shorter than a clip) came between
    the result lines, in ``infer.py ... > results.txt`` and in a pipe. In
    the block, the stream handlers of the current :class:`MMLogger`, the
    one ``print_log(logger='current')`` and the model loads use, write to
    ``sys.stderr``, as the progress bar and the errors do; file handlers
    are kept. Their streams are given back afterwards. ``--help`` stays
    on stdout.
    """
    logger = MMLogger.get_current_instance()
    # A FileHandler is a StreamHandler too: a log file stays one.
    moved = [(handler, handler.stream) for handler in logger.handlers
             if type(handler) is logging.StreamHandler]
    # Assigned, not setStream: that flushes the stream it replaces, which
    # raises where it was closed (a test's captured stdout, a closed pipe).
    for handler, _ in moved:
        handler.stream = sys.stderr
    try:
        yield
    finally:
        for handler, stream in moved:
            handler.stream = stream
