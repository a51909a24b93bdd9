# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Progress bars for long loops, quiet where nobody watches them.

One decision, :func:`progress_enabled`, says whether to draw: only on a
terminal, never under ``CI=true`` and only on the main process, so that
logs, CI output and the other ranks of a distributed job stay clean.
:func:`track_progress` draws MMEngine's ``ProgressBar`` (counts, rate,
elapsed time and ETA) around any sized iterable.
"""
import os
import sys
import time
from typing import Iterator, Optional, Sized, TextIO, TypeVar

from mmengine.dist import is_main_process
from mmengine.utils import ProgressBar

__all__ = ['progress_enabled', 'track_progress']

T = TypeVar('T')

#: Values of the ``CI`` environment variable that mean "running in CI".
CI_VALUES = ('1', 'true', 'yes', 'on')


def progress_enabled(stream: Optional[TextIO] = None) -> bool:
    """Whether a progress bar should be drawn on ``stream``.

    Args:
        stream (TextIO, optional): Where the bar would go. Defaults to None,
            ``sys.stderr``.

    Returns:
        bool: False under ``CI=true`` (also ``1``, ``yes``, ``on``), when
        ``stream`` is not a terminal, or on a process other than rank 0;
        else True.
    """
    if os.environ.get('CI', '').strip().lower() in CI_VALUES:
        return False
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, 'isatty', None)
    if isatty is None or not isatty():
        return False
    return is_main_process()


def track_progress(items: Sized,
                   title: str,
                   stream: Optional[TextIO] = None,
                   min_interval: float = 0.1) -> Iterator[T]:
    """Yield the items of ``items``, drawing a progress bar when
    :func:`progress_enabled`.

    The bar shows ``done/total``, items per second, elapsed time and the
    ETA, and is redrawn at most every ``min_interval`` seconds, so that a
    loop over 220k cheap items does not spend its time drawing.

    Args:
        items (Sized): What to iterate; ``len(items)`` is the total.
        title (str): A line printed above the bar, such as
            ``'Checking 220847 videos'``.
        stream (TextIO, optional): Where to draw. Defaults to None,
            ``sys.stderr``.
        min_interval (float): Seconds between redraws. Defaults to 0.1.

    Yields:
        The items, in order.

    Examples:
        >>> for path in track_progress(paths, 'Scanning videos'):
        ...     scan_video(path)
    """
    stream = sys.stderr if stream is None else stream
    if not progress_enabled(stream) or len(items) == 0:
        yield from items
        return
    stream.write(f'{title}\n')
    bar = ProgressBar(len(items), file=stream)
    pending, last = 0, time.monotonic()
    try:
        for item in items:
            yield item
            pending += 1
            now = time.monotonic()
            if now - last >= min_interval:
                bar.update(pending)
                pending, last = 0, now
        if pending:
            bar.update(pending)
    finally:
        stream.write('\n')
        stream.flush()
