# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The temporary files of :mod:`~mmadaptformer.utils.atomic_save`: their
names, and the removal of those a killed writer left.

A temporary file sits next to its target, hidden, and names the host and
the process that writes it: ``.<target name>.<host>.<pid>.<uuid>.tmp``.
After a successful write of a target, :func:`remove_stale_tmp_files`
removes that target's temporary files whose writer, a process of this
host, is gone; those of live processes and of other hosts (a shared file
system) are kept, so a concurrent writer is never disturbed.
"""
import os
import os.path as osp
import re
import socket
import uuid
from typing import List

__all__ = ['TMP_SUFFIX', 'host_tag', 'tmp_file_name', 'remove_stale_tmp_files']

#: The suffix of every temporary file.
TMP_SUFFIX = '.tmp'


def host_tag() -> str:
    """This host's name, reduced to characters safe in a file name."""
    return re.sub(r'[^A-Za-z0-9_-]', '_', socket.gethostname())[:32] or 'host'


def _tmp_prefix(target: str) -> str:
    """Hidden prefix of the temporary files written for ``target``."""
    return f'.{osp.basename(target)}.'


def tmp_file_name(target: str) -> str:
    """A new temporary file name (without its folder) for ``target``, of
    this host and process.

    Args:
        target (str): The file to be written.

    Returns:
        str: E.g. ``'.epoch_1.pth.myhost.4242.<32 hex digits>.tmp'``.
    """
    return (f'{_tmp_prefix(target)}{host_tag()}.{os.getpid()}.'
            f'{uuid.uuid4().hex}{TMP_SUFFIX}')


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host may still be running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_tmp_files(target: str) -> List[str]:
    """Remove temporary files of ``target`` whose writer, a process on this
    host, is gone (killed while writing).

    Temporary files of live processes and of other hosts are kept, so a
    concurrent writer is never disturbed.

    Args:
        target (str): The target just written.

    Returns:
        list[str]: The removed paths.
    """
    directory = osp.dirname(target)
    pattern = re.compile(
        re.escape(_tmp_prefix(target)) + re.escape(host_tag()) +
        r'\.(\d+)\.[0-9a-f]{32}' + re.escape(TMP_SUFFIX) + '$')
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = pattern.match(name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        path = osp.join(directory, name)
        try:
            os.unlink(path)
            removed.append(path)
        except OSError:
            # Best effort: another writer's cleanup may have removed it
            # first; the target is written whatever happens here.
            pass
    return removed
