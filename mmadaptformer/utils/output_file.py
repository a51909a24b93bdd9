# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Whether a tool can write its results file, asked before it works.

A results file (``tools/infer.py --out``) is written once everything is
done: a path whose folder cannot be made was found only then, as a
traceback, with the results lost; and a path that is one of the files the
command reads (its checkpoint, an input video) was overwritten with JSON.
:func:`output_file_problem` tells both from the command line alone.
"""
import os
import os.path as osp
from typing import Iterable, Optional, Tuple

from .local_files import is_local

__all__ = ['output_file_problem']


def _same_file(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are one file: through symlinks, relative
    spellings and hard links."""
    try:
        return osp.samefile(a, b)
    except OSError:  # one of them is not there: nothing to overwrite
        return False


def _nearest_existing(path: str) -> str:
    """``path`` or the nearest folder above it that exists."""
    while not osp.lexists(path):
        parent = osp.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def output_file_problem(
        path: str, option: str, reads: Iterable[Tuple[Optional[str],
                                                      str]]) -> Optional[str]:
    """Why ``path`` cannot take the results, else None.

    It cannot if it is a folder or a file that cannot be written, if its
    folder can be neither found nor made (a file stands where a folder of
    it should be, or the nearest folder that exists cannot be written in),
    or if it is the same file as one that the command reads.

    Args:
        path (str): The results file.
        option (str): How the command line names it (``'--out'``).
        reads: ``(path, what)`` pairs of the files the command reads, where
            ``what`` is how the command line names the file (``'the
            checkpoint'``, ``'--pretrained'``); a pair whose path is None
            or an address (``https://``) is skipped.

    Returns:
        str | None: The line for ``argparse``'s ``parser.error``.
    """
    said = f'{option} {path}'
    if osp.isdir(path):
        return f'{said} is a folder; give the file to write'
    if osp.exists(path):
        for other, what in reads:
            if other is not None and is_local(other) and \
                    _same_file(path, other):
                also = '' if other == path else f' {other}'
                return (f'{said} is {what}{also}, which this command reads; '
                        'the results would overwrite it. Give another file')
        if not os.access(path, os.W_OK):
            return f'{said}: the file cannot be written (permission denied)'
        return None
    folder = osp.dirname(osp.abspath(path))
    existing = _nearest_existing(folder)
    if not osp.isdir(existing):
        return (f'{said}: its folder cannot be made, as {existing} is '
                'not a folder')
    if not os.access(existing, os.W_OK | os.X_OK):
        made = '' if existing == folder else ', to make its folder'
        return f'{said}: cannot write in {existing}{made} (permission denied)'
    return None
