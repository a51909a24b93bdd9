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
end, as a traceback, with the results lost. An output over a file of the
checkpoint download cache replaced a download while its ``.url`` record
stayed (a later load of the address got the output instead), and one over
such a record left the address's next load unable to read it. A
model-zoo name (``torchvision://resnet18``) counts as the address its
table gives it (:mod:`.zoo_names`), or as the local file it stands for.
:func:`output_file_problem` names such an output, and one that cannot be
written as a file (a folder, a path under a file, a place without write
permission, a place where no file can be made, such as ``/sys``), for
``argparse``'s ``parser.error`` before anything is read.
"""
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Tuple

from .download_cache_files import cached_download, cached_record
from .download_records import URL_SUFFIX
from .local_files import is_local, same_file
from .output_place import nearest_existing, place_problem
from .planted_links import planted_link
from .zoo_names import is_zoo_name, zoo_file_problem, zoo_target

__all__ = ['download_cache_problem', 'output_file_problem']


def output_file_problem(
        out: str, what: str, inputs: Iterable[Tuple[Optional[str],
                                                    str]]) -> Optional[str]:
    """``'WHAT OUT: ...'`` if ``out`` cannot be the file a tool writes, else
    None.

    It cannot be a folder, a path under a file, a file or a folder that
    cannot be written (permission), a place where no file can be made
    (:func:`.place_problem`: ``/sys`` as ``root``, a read-only mount), a
    block device or a socket, the same file as one of ``inputs``
    (writing it would replace that input), or a file of the download cache
    (:mod:`.download_cache`): a download or its ``.url`` record, whether
    it is there already (with a record naming its address) or one of
    ``inputs`` given as an address is about to be downloaded to it, nor lead
    through a symbolic link that another user made in a folder anyone can
    write in (:func:`.planted_link`). A folder above it that is not there
    yet is fine: the tools make it. A path with a URI scheme is not
    checked.

    Args:
        out (str): The output path, as the command line gives it.
        what (str): How the command line names it (``'out'``, ``'dst'``).
        inputs: ``(path, what)`` pairs of the files the tool reads; a pair
            whose path is None is skipped, and one that is an address is
            only looked up in the download cache.

    Returns:
        str | None: The line for ``parser.error``.
    """
    if not is_local(out):
        return None
    planted = planted_link(out)
    if planted is not None:
        return f'{what} {out}: {planted}'
    if osp.isdir(out):
        return f'{what} {out}: it is a folder; give the file to write.'
    above = nearest_existing(osp.dirname(osp.abspath(out)))
    if not osp.isdir(above):
        return (f'{what} {out}: {above} is a file, not a folder; give a '
                'path in a folder.')
    for path, name in inputs:
        if path is not None and is_local(path) and same_file(out, path):
            return (f'{what} {out} is the same file as the {name} {path}: '
                    f'writing it would replace the {name}. Give another '
                    'file.')
    addresses = [p for p, _ in inputs if p is not None and not is_local(p)]
    problem = download_cache_problem(out, what, addresses) or \
        zoo_file_problem(out, what, addresses)
    if problem:
        return problem
    if osp.exists(out) and not os.access(out, os.W_OK):
        return f'{what} {out}: the file cannot be written (permission denied).'
    if not osp.exists(out) and not os.access(above, os.W_OK | os.X_OK):
        return (f'{what} {out}: {above} cannot be written in (permission '
                'denied).')
    return place_problem(out, what)


def _shown(url: str, given: Dict[str, str]) -> str:
    """``url``, or ``'NAME (URL)'`` where the tool was given a model-zoo
    name for it."""
    name = given.get(url, url)
    return url if name == url else f'{name} ({url})'


def download_cache_problem(out: str, what: str,
                           urls: List[str]) -> Optional[str]:
    """``'WHAT OUT is the download cache's ...'`` if writing ``out`` would
    replace a file of the checkpoint download cache, or ``'WHAT OUT is
    where the download cache puts ...'`` if it would be written where one
    of ``urls`` is downloaded, or its record written, and neither is there
    yet (nor any record of it), else None.

    Args:
        out (str): A local output path, as the command line gives it.
        what (str): How the command line names it (``'out'``).
        urls (list[str]): Addresses the tool's inputs or config name; the
            places they are about to be downloaded to count too. A
            model-zoo name (``torchvision://resnet18``) counts as the
            address its local table gives it (:func:`.zoo_target`), and is
            named with it; one no table knows is skipped.

    Returns:
        str | None: The line for ``parser.error``.
    """
    # The name the tool was given, for each address it stands for.
    given = {}
    for name in urls:
        url = zoo_target(name) if is_zoo_name(name) else name
        if url is not None:
            given.setdefault(url, name)
    download = cached_download(out, list(given))
    if download is not None:
        cached, url = download
        url = _shown(url, given)
        if not osp.lexists(cached + URL_SUFFIX):
            # Not downloaded yet (or put there by hand): no record stays.
            return (f'{what} {out} is where the download cache puts its '
                    f'copy of {url} ({cached}): a later load of the address '
                    'takes a file there for that download, and would get '
                    'this output instead. Give a path outside the download '
                    'cache.')
        return (f"{what} {out} is the download cache's copy of {url} "
                f'({cached}): writing it would replace that download while '
                "the cache's record of its address stays, and a later load "
                'of the address would get this output instead. Give a path '
                'outside the download cache.')
    record = cached_record(out, list(given))
    if record is not None:
        cached, url = record
        url = _shown(url, given)
        if not osp.lexists(cached + URL_SUFFIX):
            return (f'{what} {out} is where the download cache puts its '
                    f'record {cached + URL_SUFFIX} of its copy of {url} '
                    f'({cached}): a later load of the address reads a file '
                    'there as that record, and would read this output '
                    'instead. Give a path outside the download cache.')
        return (f"{what} {out} is the download cache's record "
                f'{cached + URL_SUFFIX} of its copy of {url} ({cached}): '
                'writing it would replace the record that a later load of '
                'the address reads to find and check that copy. Give a path '
                'outside the download cache.')
    return None
