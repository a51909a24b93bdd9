# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which paths are local files, whether two name one file, and the first
named file that is missing.

The tools check the files their command line and config name before the
Runner makes a work dir or builds a model: a checkpoint that is not there
was otherwise found only when the Runner loaded it (``FileNotFoundError:
Checkpoint file not found``), after a timestamped log folder had been made
in the work dir and the model built. A path with a URI scheme
(``https://``, ``s3://``, ``open-mmlab://``) is read by its backend or
loader, where its own errors are named; it is not checked here.
"""
import os.path as osp
import re
from typing import Iterable, Optional, Tuple

__all__ = [
    'CONFIG_SUFFIXES', 'URI', 'is_local', 'full_local_path', 'same_file',
    'path_inside', 'first_missing_file', 'checkpoint_file_problem',
    'local_ann_file', 'home_note', 'home_expanded', 'folder_not_file'
]

#: The extensions of the config files MMEngine's ``Config.fromfile`` reads
#: (it goes by the extension alone, case-sensitively).
CONFIG_SUFFIXES = ('.py', '.json', '.yml', '.yaml')

#: A path with a URI scheme (``s3://``, ``https://``, ``open-mmlab://``),
#: which no local check can see.
URI = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')


def is_local(path: str) -> bool:
    """Whether ``path`` names a local file (it has no URI scheme)."""
    return not URI.match(str(path))


def full_local_path(path: str) -> str:
    """The absolute path of a local ``path``, ``~`` expanded as MMEngine's
    loaders expand it when they read the file; an address as it is.

    Paths that a file records for later runs (a config's ``--pretrained``,
    a merged checkpoint's ``frozen_host_sources``) are kept this way: they
    name the file that was read, from any working directory.
    """
    path = str(path)
    return osp.abspath(osp.expanduser(path)) if is_local(path) else path


def home_expanded(path):
    """``path`` with a leading ``~`` expanded, as MMEngine's
    ``CheckpointLoader`` expands it when it reads a local checkpoint; an
    address, None or another value as it is.

    The shell leaves ``~`` as it is when it is quoted or follows
    ``--option=``: the tools expand it in the checkpoints they read (as
    their loader does) and in the files and folders they write (which
    would otherwise land in a folder named ``~`` in the working
    directory). A path kept relative stays relative.
    """
    if isinstance(path, str) and is_local(path):
        return osp.expanduser(path)
    return path


def same_file(first: str, second: str) -> bool:
    """Whether two local paths name one file: :func:`os.path.samefile` when
    both exist (hard and symbolic links, relative paths), else their
    resolved absolute paths (a link whose target is not there yet)."""
    if osp.exists(first) and osp.exists(second):
        return osp.samefile(first, second)
    return osp.realpath(first) == osp.realpath(second)


def path_inside(path: str, folder: str) -> bool:
    """Whether the local ``path`` is ``folder`` or lies under it, links
    resolved."""
    path, folder = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([path, folder]) == folder


def home_note(path: str) -> str:
    """What to say of a missing ``path`` that starts with ``~`` when the
    file is there once ``~`` is expanded: Python's ``open``, MMEngine's
    ``Config.fromfile`` and the inputs' readers take ``~`` as a folder's
    name (only the shell expands it, and not after ``--option=``).

    Args:
        path (str): A path found missing.

    Returns:
        str: ``' (a leading ~ is not expanded here; ...)'``, or ``''``.
    """
    path = str(path)
    home = osp.expanduser(path)
    if home == path or not osp.exists(home):
        return ''
    return (f' (a leading ~ is not expanded here; the file is {home}: give '
            'that path)')


def folder_not_file(path: str, what: str) -> Optional[str]:
    """``'WHAT PATH is a folder, not a file: give the path of the file
    itself'`` where ``path`` is a folder, else None: the one wording for a
    folder given where a file is read (the datasets' annotation files when
    they are read, and the check of them before the Runner).

    Args:
        path (str): A local path.
        what (str): What the file is, such as ``'the annotation file'``.
    """
    if not osp.isdir(path):
        return None
    return (f'{what} {path} is a folder, not a file: give the path of the '
            'file itself')


def first_missing_file(
        files: Iterable[Tuple[Optional[str], str]]) -> Optional[str]:
    """``'WHAT PATH: no such file'`` for the first local file of ``files``
    that is not there (a folder is not a file either), else None.

    Args:
        files: ``(path, what)`` pairs, where ``what`` is how the command
            line or config names the file (``'checkpoint'``,
            ``'--resume'``); a pair whose path is None is skipped.

    Returns:
        str | None: The line for ``argparse``'s ``parser.error`` or a
        :class:`~.config_error.ConfigError`.
    """
    for path, what in files:
        if path is not None and is_local(path) and not osp.isfile(path):
            problem = 'it is a folder, not a file' if osp.isdir(path) else \
                'no such file'
            return f'{what} {path}: {problem}{home_note(path)}'
    return None


def checkpoint_file_problem(path: str) -> Optional[str]:
    """``'does not exist'`` or ``'is a folder, not a checkpoint file'`` for
    a local ``path`` that is not a file (``~`` expanded, as the checkpoint
    loaders expand it), for a config key's error; None for a file or an
    address (its loader reads it).

    Args:
        path (str): The checkpoint path a config names.
    """
    # MMEngine's CheckpointLoader expands `~` in a local path.
    path = home_expanded(path)
    if not is_local(path) or osp.isfile(path):
        return None
    return 'is a folder, not a checkpoint file' if osp.isdir(path) else \
        'does not exist'


def local_ann_file(dataset) -> Optional[str]:
    """The annotation list of a dataset built with ``lazy_init=True``, if
    it can be read here before the dataset reads it: a local file that
    is there, with the dataset's ``backend_args`` local (one behind a URI
    or another backend is left to that backend).

    Args:
        dataset: Any dataset.

    Returns:
        str, optional: Its ``ann_file``; None if it is none of those.
    """
    ann_file = getattr(dataset, 'ann_file', None)
    backend = getattr(dataset, 'backend_args', None) or {}
    if not isinstance(ann_file, str) or not is_local(ann_file) or \
            not osp.isfile(ann_file) or \
            backend.get('backend', 'local') != 'local':
        return None
    return ann_file
