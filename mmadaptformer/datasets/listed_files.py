# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check the files an annotation list names when its dataset is built.

:class:`~mmadaptformer.datasets.CheckedVideoDataset` and
:class:`~mmadaptformer.datasets.CheckedImageDataset` call these with their
parsed lists, each entry a dict with ``filename`` and ``source`` (the
``file:line`` of the list that names it):

* :func:`check_listed_files_exist`, for training: a seeded sample of the
  files (``check_files='sample'``), or all of them, must exist. A missing
  training file would only be skipped, so the sample is there to find a
  wrong folder or a download not finished.
* :func:`check_evaluation_files`, for validation and testing
  (``test_mode=True``): every file must exist, be readable and pass a
  cheap check of its own (a video's container header, an image's size),
  since evaluation stops at the first file it cannot read: a broken
  validation video was found only at the first validation, epochs into
  the run. Every rank checks the whole list (no collective call while a
  dataset is built), each file opened once, in :data:`CHECK_THREADS`
  threads, between two log lines that give the count and the time.
"""
import os
import os.path as osp
import random
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional, Sequence, Tuple, Type

from mmengine.logging import print_log

__all__ = [
    'CHECK_FILES', 'CHECK_THREADS', 'check_listed_files_exist',
    'check_evaluation_files', 'listed_lines'
]

#: What ``check_files=...`` of the checked datasets accepts.
CHECK_FILES = ('sample', 'all', None)
#: Threads that check an evaluation list's files: a network filesystem
#: answers many requests at once, each thread waits on one.
CHECK_THREADS = 16

#: ``check_file(path, fd, size)`` of :func:`check_evaluation_files`.
CheckFile = Callable[[str, int, int], None]
#: ``(kind, why)`` of a file that failed the check, or None.
_Found = Optional[Tuple[str, str]]


def listed_lines(problems: Sequence[Tuple[dict, str]], max_listed: int) -> str:
    """The lines naming ``problems`` (at most ``max_listed``, then ``  ...
    and N more``), each ``  SOURCE: FILE`` or ``  SOURCE: FILE: WHY``.

    Args:
        problems (Sequence[tuple[dict, str]]): Each entry of the parsed
            list (``filename`` and ``source``) and why it is named, or
            ``''``.
        max_listed (int): At most this many are named.

    Returns:
        str: The lines, joined by newlines.
    """
    lines = [
        f'  {d["source"]}: {d["filename"]}' + (f': {why}' if why else '')
        for d, why in problems[:max_listed]
    ]
    more = len(problems) - max_listed
    if more > 0:
        lines.append(f'  ... and {more} more')
    return '\n'.join(lines)


def _folder_hint(folder: Optional[str], what: str) -> str:
    """Where the files' folder itself is missing, a sentence saying so."""
    if folder and not osp.isdir(folder):
        return (f' The {what} folder {folder} does not exist; check '
                'data_prefix.')
    return ''


def check_listed_files_exist(data_list: Sequence[dict],
                             ann_file: str,
                             check_files: Optional[str],
                             sample_size: int,
                             max_listed: int,
                             folder: Optional[str],
                             what: str = 'video') -> None:
    """Raise if files of a parsed list do not exist.

    Args:
        data_list (Sequence[dict]): The parsed list, each entry with
            ``filename`` and ``source``.
        ann_file (str): The annotation list, for the error.
        check_files (str, optional): ``'sample'`` (a seeded random sample
            of ``sample_size``, the same on every rank and rerun), ``'all'``
            or None (nothing is checked).
        sample_size (int): Files checked with ``'sample'``.
        max_listed (int): At most this many missing files are named.
        folder (str, optional): The files' folder; the error says when it
            does not exist.
        what (str): What the files are, for the error, such as
            ``'image'``. Defaults to ``'video'``.

    Raises:
        FileNotFoundError: Naming the missing files and their lines.
    """
    if check_files is None:
        return
    checked = data_list
    if (check_files == 'sample' and len(data_list) > sample_size):
        # Seeded: every rank and rerun checks the same files.
        checked = random.Random(0).sample(list(data_list), sample_size)
    missing = [(d, '') for d in checked if not osp.isfile(d['filename'])]
    if not missing:
        return
    raise FileNotFoundError(
        f'{len(missing)} of {len(checked)} checked {what}s '
        f'(check_files={check_files!r}) of {ann_file} do not '
        f'exist:\n{listed_lines(missing, max_listed)}' +
        _folder_hint(folder, what))


def _check_one(path: str, check_file: CheckFile,
               broken_error: Type[Exception]) -> _Found:
    """``(kind, why)`` of a file that fails the evaluation check, kind
    ``'missing'``, ``'unreadable'`` or ``'broken'``; None if it passes.

    The file is opened once, and ``check_file`` reads through that
    descriptor: on a network filesystem every open, stat and read is a
    round trip to the server."""
    try:
        # O_NONBLOCK: a FIFO in the list is named, not waited on.
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0))
    except (FileNotFoundError, NotADirectoryError):
        # NotADirectoryError: a folder on its path is a file.
        return 'missing', 'the file is missing'
    except OSError as e:
        return 'unreadable', _unreadable(e)
    try:
        status = os.fstat(fd)
        if stat.S_ISDIR(status.st_mode):
            return 'missing', 'a folder, not a file'
        if not stat.S_ISREG(status.st_mode):
            return 'missing', 'not a regular file'
        check_file(path, fd, status.st_size)
    except broken_error as e:
        why = str(e)
        if why.startswith(f'{path}: '):
            why = why[len(path) + 2:]
        return 'broken', why
    except OSError as e:
        return 'unreadable', _unreadable(e)
    finally:
        try:
            os.close(fd)
        except OSError:
            pass  # Read-only, and judged already: nothing was lost.
    return None


def _unreadable(error: OSError) -> str:
    """``'unreadable: Permission denied'``: the error's own words, without
    the path CPython appends (the line names it already)."""
    return f'unreadable: {error.strerror or error}'


def _check_all(paths: List[str], check_file: CheckFile,
               broken_error: Type[Exception]) -> List[_Found]:
    """:func:`_check_one` of each of ``paths``, in their order, checked in
    :data:`CHECK_THREADS` threads: each waits on its file's round trips,
    and a network filesystem answers requests side by side."""

    def check_chunk(chunk: List[str]) -> List[_Found]:
        return [_check_one(path, check_file, broken_error) for path in chunk]

    # Chunks, not one task a file: a task costs more CPU than a file's
    # check in the page cache.
    step = max(1, min(64, -(-len(paths) // CHECK_THREADS)))
    chunks = [paths[i:i + step] for i in range(0, len(paths), step)]
    pool = ThreadPoolExecutor(min(CHECK_THREADS, len(chunks) or 1))
    try:
        parts = list(pool.map(check_chunk, chunks))
    except BaseException:
        # Ctrl-C or an error: the chunks not started are dropped, not
        # checked to the end of the list first.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return [found for part in parts for found in part]


def check_evaluation_files(data_list: Sequence[dict], ann_file: str,
                           max_listed: int, folder: Optional[str], what: str,
                           check_file: CheckFile,
                           broken_error: Type[Exception], advice: str) -> None:
    """Raise if a file of an evaluation list is missing, unreadable or
    fails ``check_file``; every file is checked.

    Each file is opened once and checked by ``check_file`` through that
    descriptor (two calls and a read or two per video), in
    :data:`CHECK_THREADS` threads. The check runs in every process that
    builds the dataset, on every rank of a distributed run (no rank waits
    for another's answer). A log line says how many files it checks, and
    one how long it took: in the page cache 6 to 8 us of CPU a tiny video;
    on a network filesystem with a cold cache each open and read is a
    round trip to the server, about 3 a video (at 1 ms each, some 75 s
    for SSv2's 24.8k validation videos, which the threads overlap).

    Args:
        data_list (Sequence[dict]): The parsed list, each entry with
            ``filename`` and ``source``.
        ann_file (str): The annotation list, for the error.
        max_listed (int): At most this many files are named.
        folder (str, optional): The files' folder; the error says when it
            does not exist.
        what (str): What the files are, such as ``'video'``.
        check_file (Callable): Called as ``check_file(path, fd, size)``
            with the open file's descriptor (to read through with
            ``os.pread``; not to close) and size. Raises ``broken_error``
            on a broken file, with a message that starts with its path
            (``PATH: truncated MP4/MOV file ...``); it should read no more
            than a header, since every file of the list is checked.
        broken_error (type): What ``check_file`` raises, and what this
            raises when a file is broken or unreadable.
        advice (str): What to do, the error's last sentence.

    Raises:
        FileNotFoundError: If the files named are all missing (or folders).
        broken_error: Otherwise; both name every missing, unreadable
            (``unreadable: Permission denied``) or broken file with its
            line and why.
    """
    print_log(
        f'checking {len(data_list)} {what}s of {ann_file} (test_mode=True: '
        f'each must exist and be whole)...',
        logger='current')
    start = time.perf_counter()
    found = _check_all([info['filename'] for info in data_list], check_file,
                       broken_error)
    print_log(
        f'checked {len(data_list)} {what}s of {ann_file} in '
        f'{time.perf_counter() - start:.1f} s',
        logger='current')
    problems = [(info, f[1]) for info, f in zip(data_list, found) if f]
    if not problems:
        return
    kinds = {f[0] for f in found if f}
    error = FileNotFoundError if kinds == {'missing'} else broken_error
    which = ('missing, unreadable or broken'
             if 'unreadable' in kinds else 'missing or broken')
    if 'unreadable' in kinds:
        advice += (' An unreadable file needs read permission for the user '
                   'the job runs as, or, on an I/O error, a check of its '
                   'disk.')
    raise error(
        f'{len(problems)} of {len(data_list)} {what}s of {ann_file} are '
        f'{which}; evaluation would stop at the first of them '
        f'(test_mode=True: every {what} is checked when the dataset is '
        f'built):\n{listed_lines(problems, max_listed)}\n{advice}' +
        _folder_hint(folder, what))
