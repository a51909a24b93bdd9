# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Symbolic links that another user planted in a shared folder, which an
output is never written through.

In a folder anyone can write in and only owners can delete from (sticky
and world-writable, as ``/tmp``), anyone can make ``/tmp/preds.json`` a
link to a file of yours (``~/.bashrc``) before you run ``tools/infer.py
... --out /tmp/preds.json``. Linux refuses to follow such a link
(``fs.protected_symlinks``, on by default in most distributions) where
neither you nor the folder's owner own it. The atomic writer
(:mod:`.atomic_save`) resolves a link itself, to replace the file it
points to as ``open`` would, and the kernel then never saw the link: its
own check was bypassed, and the tool replaced the linked file. Where the
setting is off (many containers), ``open`` followed it too.

:func:`planted_link` finds such a link along a path, whatever the
setting, by the kernel's rule; the atomic writer refuses it, and the
tools name it before they run (:mod:`.output_file`,
:mod:`.output_folder`).
"""
import os
import os.path as osp
import stat
from typing import Optional

__all__ = ['planted_link']

# Links followed before the walk gives up (Linux's own limit); a loop is
# left to the OS, which names it when the path is opened.
_MAX_LINKS = 40


def _user(uid: int) -> str:
    try:
        import pwd
        return f'{pwd.getpwuid(uid).pw_name!r} (uid {uid})'
    except (ImportError, KeyError):
        return f'uid {uid}'


def _planted(link: str, link_stat: os.stat_result,
             folder: str) -> Optional[str]:
    """Why following ``link``, found in ``folder``, is refused, if it is:
    Linux's ``may_follow_link`` rule."""
    try:
        folder_stat = os.stat(folder)
    except OSError:
        return None
    mode = folder_stat.st_mode
    if not (mode & stat.S_ISVTX and mode & stat.S_IWOTH):
        return None
    if link_stat.st_uid in (os.geteuid(), folder_stat.st_uid):
        return None
    try:
        target = repr(os.readlink(link))
    except OSError as e:
        target = f'something that cannot be read ({e.strerror or e})'
    return (f'{link} is a symbolic link to {target} that '
            f'{_user(link_stat.st_uid)}, not you, made in {folder}, a folder '
            'anyone can write in: following it would write wherever that '
            "user chose, so it is not followed (Linux's fs.protected_symlinks "
            'refuses it too). Delete the link or give a path in a folder of '
            'your own.')


def planted_link(path: str) -> Optional[str]:
    """Why writing ``path`` is refused, if it leads through a symbolic link
    that another user planted: one in a sticky, world-writable folder
    (``/tmp``) that neither this user nor the folder's owner owns.

    Every link along the path is looked at, those of the folders above it
    and those a link points through, as the kernel follows them. A part
    that is not there ends the walk (it is made, not followed).

    Args:
        path (str): A local path about to be written.

    Returns:
        str | None: One line naming the link, its owner and the folder;
        None on systems without symbolic link owners (Windows).
    """
    if not hasattr(os, 'geteuid'):
        return None
    resolved = os.sep
    # Absolute but not normalised: the kernel follows LINK in LINK/../x
    # before it goes up, which abspath's normpath would drop as text.
    absolute = path if osp.isabs(path) else osp.join(os.getcwd(), path)
    pending = list(reversed(absolute.split(os.sep)))
    followed = 0
    while pending:
        name = pending.pop()
        if name in ('', '.'):
            continue
        if name == '..':
            resolved = osp.dirname(resolved)
            continue
        candidate = osp.join(resolved, name)
        try:
            found = os.lstat(candidate)
        except OSError:
            return None
        if not stat.S_ISLNK(found.st_mode):
            resolved = candidate
            continue
        followed += 1
        if followed > _MAX_LINKS:
            return None
        why = _planted(candidate, found, resolved)
        if why is not None:
            return why
        try:
            target = os.readlink(candidate)
        except OSError:
            return None
        if osp.isabs(target):
            resolved = os.sep
        pending.extend(reversed(target.split(os.sep)))
    return None
