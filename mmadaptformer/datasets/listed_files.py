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
  (``test_mode=True``): every file must exist and pass a cheap check of
  its own (a video's container header, an image's size), since evaluation
  stops at the first file it cannot read: a broken validation video was
  found only at the first validation, epochs into the run.
"""
import os.path as osp
import random
from typing import Callable, List, Optional, Sequence, Tuple, Type

__all__ = ['CHECK_FILES', 'check_listed_files_exist', 'check_evaluation_files']

#: What ``check_files=...`` of the checked datasets accepts.
CHECK_FILES = ('sample', 'all', None)


def _listed(problems: Sequence[Tuple[dict, str]], max_listed: int) -> str:
    """The lines naming ``problems`` (at most ``max_listed``), each
    ``  SOURCE: FILE`` or ``  SOURCE: FILE: WHY``."""
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
        f'exist:\n{_listed(missing, max_listed)}' + _folder_hint(folder, what))


def check_evaluation_files(data_list: Sequence[dict], ann_file: str,
                           max_listed: int, folder: Optional[str], what: str,
                           check_file: Callable[[str], None],
                           broken_error: Type[Exception], advice: str) -> None:
    """Raise if a file of an evaluation list is missing or fails
    ``check_file``; every file is checked.

    Args:
        data_list (Sequence[dict]): The parsed list, each entry with
            ``filename`` and ``source``.
        ann_file (str): The annotation list, for the error.
        max_listed (int): At most this many files are named.
        folder (str, optional): The files' folder; the error says when it
            does not exist.
        what (str): What the files are, such as ``'video'``.
        check_file (Callable): Raises ``broken_error`` (or an
            ``OSError``) on a broken file, with a message that starts with
            its path (``PATH: truncated MP4/MOV file ...``); it should read
            no more than a header, since every file of the list is checked.
        broken_error (type): What ``check_file`` raises, and what this
            raises when a file is broken.
        advice (str): What to do, the error's last sentence.

    Raises:
        FileNotFoundError: If no file named is broken, only missing (or
            unreadable).
        broken_error: Otherwise; both name every missing or broken file
            with its line and why.
    """
    problems: List[Tuple[dict, str]] = []
    broken = False
    for info in data_list:
        path = info['filename']
        if not osp.isfile(path):
            problems.append((info, 'the file is missing'))
            continue
        try:
            check_file(path)
        except (broken_error, OSError) as e:
            why = str(e)
            if why.startswith(f'{path}: '):
                why = why[len(path) + 2:]
            problems.append((info, why))
            broken = broken or isinstance(e, broken_error)
    if not problems:
        return
    error = broken_error if broken else FileNotFoundError
    raise error(
        f'{len(problems)} of {len(data_list)} {what}s of {ann_file} are '
        'missing or broken; evaluation would stop at the first of them '
        f'(test_mode=True: every {what} is checked when the dataset is '
        f'built):\n{_listed(problems, max_listed)}\n{advice}' +
        _folder_hint(folder, what))
