# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Whether a tool may write its output file where the command line says.

The tools write their output once their work is done. An output that is
one of their inputs (the same path, another spelling of it, or a symbolic
link to it) replaced the input without a word: ``extract_adapters.py C
full.pth full.pth`` overwrote the full checkpoint with its adapters,
``merge_adapters.py ... --pretrained pre.pth`` with ``pre.pth`` as the
output replaced the frozen backbone every adapter-only checkpoint needs,
and ``tools/infer.py ... --out CHECKPOINT`` wrote its JSON over the
checkpoint. A path whose folder could not be made was found only at the
end, as a traceback, with the results lost. :func:`output_file_problem`
names such an output, and one that cannot be written as a file (a folder,
a path under a file, a place without write permission), for
``argparse``'s ``parser.error`` before anything is read.
"""
import os
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


def _nearest_existing(path: str) -> str:
    """The closest path above ``path`` that exists."""
    parent = osp.dirname(osp.abspath(path))
    while not osp.exists(parent):
        parent = osp.dirname(parent)
    return parent


def output_file_problem(
        out: str, what: str, inputs: Iterable[Tuple[Optional[str],
                                                    str]]) -> Optional[str]:
    """``'WHAT OUT: ...'`` if ``out`` cannot be the file a tool writes, else
    None.

    It cannot be a folder, a path under a file, a file or a folder that
    cannot be written (permission), or the same file as one of ``inputs``
    (writing it would replace that input). A folder above it that is not
    there yet is fine: the tools make it. A path with a URI scheme is not
    checked.

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
    above = _nearest_existing(out)
    if not osp.isdir(above):
        return (f'{what} {out}: {above} is a file, not a folder; give a '
                'path in a folder.')
    for path, name in inputs:
        if path is not None and is_local(path) and same_file(out, path):
            return (f'{what} {out} is the same file as the {name} {path}: '
                    f'writing it would replace the {name}. Give another '
                    'file.')
    if osp.exists(out) and not os.access(out, os.W_OK):
        return f'{what} {out}: the file cannot be written (permission denied).'
    if not osp.exists(out) and not os.access(above, os.W_OK | os.X_OK):
        return (f'{what} {out}: {above} cannot be written in (permission '
                'denied).')
    return None
