# Copyright (c) mmadaptformer contributors. All rights reserved.
"""List files of inputs, and standard input, read into the paths they name
(``tools/infer.py --list``): one path a line, or MMAction2's and
MMPretrain's annotation lines."""
import os.path as osp
import sys
from typing import List, Optional

from mmadaptformer.utils.local_files import home_note
from .infer_files import InferenceInputError

__all__ = ['STDIN', 'read_input_list']

#: The list "file" that is standard input
#: (``find data -name '*.mp4' | infer.py ... --list -``).
STDIN = '-'


def read_input_list(path: str, root: Optional[str] = None) -> List[str]:
    """The paths a list file, or standard input, names, in its order.

    One path a line. Blank lines and lines starting with ``#`` are
    skipped. MMAction2's and MMPretrain's annotation lines are taken too:
    ``path label`` and ``path total_frames label``, whose first field is
    the path (``tools/data`` writes them, and MMAction2's
    ``clip_feature_extraction.py --video-list`` reads its videos so). A
    line that names an existing file as a whole is that file, spaces and
    all; a ``path label`` line whose path holds spaces is split at its
    last space, as MMPretrain's ``CustomDataset`` reads its annotation
    files. A relative path is resolved against ``root``; a folder is an
    input as on the command line (its files are found later).

    Args:
        path (str): The list file, or :data:`STDIN` (``'-'``) to read
            standard input.
        root (str, optional): The folder relative paths are resolved
            against (an annotation file's ``data_prefix``). Defaults to
            None (the list file's folder; for standard input, the current
            directory).

    Returns:
        list[str]: The paths, relative ones joined to ``root``.

    Raises:
        InferenceInputError: If the list cannot be read as text, names
            no path, or names a path that is not there; the message names
            the list file, the line and the folder paths were resolved
            against.
    """
    if path == STDIN:
        named = f'--list {STDIN} (standard input)'
        if root is None:
            # A pipe has no folder: its paths are those of the shell's
            # current directory, as `find` writes them.
            root, where = '', 'the current directory'
        else:
            where = '--list-root'
        lines = _read_lines(named, None)
    else:
        named = f'--list {path}'
        if not osp.isfile(path):
            problem = 'it is a folder, not a file' if osp.isdir(path) \
                else 'no such file'
            raise InferenceInputError(f'{named}: {problem}{home_note(path)}.')
        if root is None:
            root, where = osp.dirname(path), "the list's folder"
        else:
            where = '--list-root'
        lines = _read_lines(named, path)
    paths, missing = [], []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith('#'):
            continue
        found = _listed_path(root, text)
        if found is None:
            found = osp.join(root, text.split()[0])
            missing.append((number, text, found))
        paths.append(found)
    if missing:
        number, text, first = missing[0]
        what = repr(first) if text.split()[0] == text else \
            f'{first!r} (its first field)'
        raise InferenceInputError(
            f'{named}, line {number}: {what} does not exist'
            f'{home_note(text.split()[0])}; '
            f'{len(missing)} of the {len(paths)} paths listed '
            f'{"is" if len(missing) == 1 else "are"} missing. '
            f'Relative paths are resolved against {root or "."!r} '
            f'({where}); give --list-root DIR to resolve them against '
            'another folder (the data_prefix of an annotation file).')
    if not paths:
        raise InferenceInputError(
            f'{named}: names no path (only blank lines and # '
            'comments); expected one path a line.')
    return paths


def _listed_path(root: str, text: str) -> Optional[str]:
    """The path a list line ``text`` names, joined to ``root``, if it is
    there: the whole line, else all but its last field (MMPretrain's
    ``CustomDataset`` splits a ``path label`` line at its last space, so
    its paths may hold spaces), else its first field (MMAction2's lists
    split at every space); None where none of them is there."""
    for candidate in (text, text.rsplit(' ', 1)[0], text.split()[0]):
        path = osp.join(root, candidate)
        if osp.exists(path):
            return path
    return None


def _read_lines(named: str, path: Optional[str]) -> List[str]:
    """The lines of the list file at ``path``, or of standard input where
    ``path`` is None; ``named`` says which in an error."""
    try:
        if path is None:
            if sys.stdin is None:
                raise OSError('there is no standard input')
            # As a file is read: bytes decoded as UTF-8, whatever the
            # locale, and Notepad's byte-order mark dropped.
            stream = getattr(sys.stdin, 'buffer', sys.stdin)
            text = stream.read()
            if isinstance(text, bytes):
                text = text.decode('utf-8-sig')
        else:
            # utf-8-sig: a list saved by Notepad starts with a byte-order
            # mark, which would be the first path's first character.
            with open(path, encoding='utf-8-sig') as f:
                text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise InferenceInputError(
            f'{named}: cannot be read as a text file of paths, one a '
            f'line ({type(e).__name__}: {e}).') from None
    return text.splitlines()
