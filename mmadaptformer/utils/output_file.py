# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Whether a tool may write its output file where the command line says.

The checkpoint converters (``tools/model_converters/``) write one file from
one or more input files. An output that is one of its inputs (the same
path, another spelling of it, or a symbolic link to it) replaced the input
without a word: ``extract_adapters.py C full.pth full.pth`` overwrote the
full checkpoint with its adapters, ``merge_adapters.py ... --pretrained
pre.pth`` with ``pre.pth`` as the output replaced the frozen backbone every
adapter-only checkpoint needs. :func:`output_file_problem` names such an
output, and one that cannot be written as a file (a folder, or a path under
a file), for ``argparse``'s ``parser.error`` before anything is read.
"""
import os.path as osp
from typing import Iterable, Optional, Tuple

from .local_files import is_local

__all__ = ['same_file', 'output_file_problem']


def same_file(first: str, second: str) -> bool:
    """Whether two local paths name one file: :func:`os.path.samefile` when
    both exist (hard and symbolic links, relative paths), else their
    resolved absolute paths (a link whose target is not there yet)."""
    if osp.exists(first) and osp.exists(second):
        return osp.samefile(first, second)
    return osp.realpath(first) == osp.realpath(second)


def _blocking_file(path: str) -> Optional[str]:
    """The closest existing folder above ``path``, if it is a file instead
    of a folder: ``path`` cannot be made under it."""
    parent = osp.dirname(osp.abspath(path))
    while not osp.exists(parent):
        parent = osp.dirname(parent)
    return None if osp.isdir(parent) else parent


def output_file_problem(
        out: str, what: str, inputs: Iterable[Tuple[Optional[str],
                                                    str]]) -> Optional[str]:
    """``'WHAT OUT: ...'`` if ``out`` cannot be the file a tool writes, else
    None.

    It cannot be a folder, a path under a file, or the same file as one of
    ``inputs`` (writing it would replace that input). A folder above it
    that is not there yet is fine: the tools make it. A path with a URI
    scheme is not checked.

    Args:
        out (str): The output path, as the command line gives it.
        what (str): How the command line names it (``'out'``, ``'dst'``).
        inputs: ``(path, what)`` pairs of the files the tool reads; a pair
            whose path is None or an address is skipped.

    Returns:
        str | None: The line for ``parser.error``.
    """
    if not is_local(out):
        return None
    if osp.isdir(out):
        return f'{what} {out}: it is a folder; give the file to write.'
    blocking = _blocking_file(out)
    if blocking is not None:
        return (f'{what} {out}: {blocking} is a file, not a folder; give a '
                'path in a folder.')
    for path, name in inputs:
        if path is not None and is_local(path) and same_file(out, path):
            return (f'{what} {out} is the same file as the {name} {path}: '
                    f'writing it would replace the {name}. Give another '
                    'file.')
    return None
