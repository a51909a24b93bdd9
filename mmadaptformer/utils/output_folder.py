# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Whether a tool may write into the output folder its command line names.

The dataset tools (``tools/data/*``) write their lists and images into an
``OUT_DIR`` that they make when it is not there. An ``OUT_DIR`` that is a
file, or that lies under one, ended them with a ``FileExistsError`` or
``NotADirectoryError`` traceback, after the inputs had been read and
checked. :func:`output_folder_problem` names such a folder, and one that
cannot be written in, for ``argparse``'s ``parser.error`` before anything is
read. (A single output file is :mod:`.output_file`'s.)
"""
import os
import os.path as osp
from typing import Optional

from .output_place import nearest_existing, place_problem
from .planted_links import planted_link

__all__ = ['output_folder_problem']


def output_folder_problem(out: str, what: str) -> Optional[str]:
    """``'WHAT OUT: ...'`` if ``out`` cannot be the folder a tool writes
    into, else None.

    It cannot be a file, lie under a file, be (or, when it is not there
    yet, lie under) a folder that cannot be written in or where no file
    can be made (:func:`.place_problem`: ``/sys`` as ``root``), or lead through a
    symbolic link that another user made in a folder anyone can write in
    (:func:`.planted_link`). A folder that is not there yet is fine: the
    tools make it.

    Args:
        out (str): The folder, as the command line gives it.
        what (str): How the command line names it (``'OUT_DIR'``).

    Returns:
        str | None: The line for ``parser.error``.

    Examples:
        >>> output_folder_problem('setup.py', 'OUT_DIR')
        'OUT_DIR setup.py: it is a file; give a folder (it is made if it is not there).'
    """  # noqa: E501
    planted = planted_link(out)
    if planted is not None:
        return f'{what} {out}: {planted}'
    if osp.exists(out) and not osp.isdir(out):
        return (f'{what} {out}: it is a file; give a folder (it is made if '
                'it is not there).')
    above = nearest_existing(out)
    if not osp.isdir(above):
        return (f'{what} {out}: {above} is a file, not a folder; give a '
                'folder.')
    if not os.access(above, os.W_OK | os.X_OK):
        return f'{what} {out}: {above} cannot be written in (permission ' \
            'denied).'
    return place_problem(out, what, folder=True)
