# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Where ``show_dir`` / ``--show-dir`` drawings go, and whether they may.

Both ``ModelInferencer(...)(inputs, show_dir=DIR)`` and ``tools/infer.py
--show-dir DIR`` check the folder before anything is classified, with one
core (:func:`show_dir_paths`): the Inferencer raises what it finds, the
command line refuses it with exit status 2. The drawing itself is
:mod:`~mmadaptformer.apis.visualize`'s.
"""
import os
import os.path as osp
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple

from mmadaptformer.utils.local_files import path_inside
from mmadaptformer.utils.output_place import nearest_existing
from mmadaptformer.utils.planted_links import planted_link
from .array_inputs import InputKey, input_name
from .infer_files import IMAGE_EXTENSIONS

__all__ = [
    'VIDEO_SUFFIX', 'IMAGE_SUFFIX', 'FRAMES_MARK', 'show_paths',
    'show_dir_problem', 'show_dir_paths', 'check_show_dir'
]

#: What a drawn video and a drawn image are saved as.
VIDEO_SUFFIX = '.mp4'
IMAGE_SUFFIX = '.png'
#: Between a clip folder's name and :data:`VIDEO_SUFFIX` where a file of
#: that folder shares its stem: ``val_0_0/`` beside ``val_0_0.mp4`` is
#: drawn to ``val_0_0.frames.mp4``, the video to ``val_0_0.mp4.mp4``.
FRAMES_MARK = '.frames'


def _is_video(key: InputKey, kind: str) -> bool:
    """Whether an input is drawn as a video: an array of a video model,
    a clip's folder of frames, any file but an image."""
    if isinstance(key, int):
        return kind == 'video'
    return osp.isdir(key) or not key.lower().endswith(IMAGE_EXTENSIONS)


class _ReadFiles:
    """The files read that exist, found by their identity: each is looked
    at once, not once per drawing (every input is one of them).

    Args:
        reads (Iterable[tuple]): ``(path, what)``; a path that is None, or
            that is not there, is left out.
    """

    def __init__(self, reads: Iterable[Tuple[Optional[str], str]]) -> None:
        self._by_file: Dict[Tuple[int, int], Tuple[str, str]] = {}
        self._by_real: Dict[str, Tuple[str, str]] = {}
        for path, role in reads:
            if path is None or not osp.exists(path):
                continue
            st = os.stat(path)
            self._by_file.setdefault((st.st_dev, st.st_ino), (path, role))
            self._by_real.setdefault(osp.realpath(path), (path, role))

    def find(self, out: str) -> Optional[Tuple[str, str]]:
        """``(path, what)`` of the first read file that ``out`` names, as
        :func:`~mmadaptformer.utils.local_files.same_file` tells, else
        None."""
        if osp.exists(out):
            st = os.stat(out)
            return self._by_file.get((st.st_dev, st.st_ino))
        return self._by_real.get(osp.realpath(out))


def show_paths(keys: Iterable[InputKey], show_dir: str,
               kind: str) -> Dict[InputKey, str]:
    """Where each input's drawing goes.

    A file (or a clip's folder of frames) keeps its path relative to the
    folder all the inputs are in, so that ``a/clip.mp4`` and
    ``b/clip.mp4`` do not write one file; its extension becomes
    :data:`VIDEO_SUFFIX` (videos, folders of frames) or
    :data:`IMAGE_SUFFIX` (images). Where two inputs of one folder would
    still get one name (``clip.avi``, ``clip.webm``), each keeps its whole
    name (``clip.avi.mp4``, ``clip.webm.mp4``), and a clip's folder among
    them is marked with :data:`FRAMES_MARK` (``val_0_0.frames.mp4`` beside
    ``val_0_0.mp4.mp4``): its whole name would be its stem's, which reads
    as the drawing of the file (``val_0_0.mp4`` of the video
    ``val_0_0.mp4``). An array is ``inputs_INDEX`` in ``show_dir``.

    Args:
        keys (Iterable[str | int]): The inputs, as the results key them.
        show_dir (str): The folder.
        kind (str): ``'video'`` or ``'image'``: what the model classifies
            (how an array is saved).

    Returns:
        dict: ``{key: path}``.

    Raises:
        ValueError: If two inputs would still be written to one file.
    """
    keys = list(keys)
    files = [k for k in keys if isinstance(k, str)]
    root = osp.commonpath([osp.dirname(osp.abspath(k))
                           for k in files]) if files else ''
    stems, names = {}, {}
    for key in keys:
        suffix = VIDEO_SUFFIX if _is_video(key, kind) else IMAGE_SUFFIX
        if isinstance(key, int):
            folder, name = '', f'inputs_{key}'
        else:
            path = osp.abspath(key)
            folder = osp.relpath(osp.dirname(path), root)
            name = osp.basename(path)
        is_folder = osp.isdir(str(key))
        stem = name if is_folder else osp.splitext(name)[0]
        whole = name + FRAMES_MARK if is_folder else name
        stems[key] = osp.normpath(osp.join(show_dir, folder, stem + suffix))
        names[key] = osp.normpath(osp.join(show_dir, folder, whole + suffix))
    paths, taken = {}, {}
    for key, path in stems.items():
        taken.setdefault(path.lower(), []).append(key)
    for key in keys:
        shared = len(taken[stems[key].lower()]) > 1
        paths[key] = names[key] if shared else stems[key]
    seen = {}
    for key, path in paths.items():
        if path.lower() in seen:
            raise ValueError(
                f'{input_name(seen[path.lower()])} and {input_name(key)} '
                f'would both be drawn to {path}; rename one of them.')
        seen[path.lower()] = key
    return paths


def show_dir_problem(show_dir: str,
                     paths: Mapping[InputKey, str],
                     folders: Iterable[str],
                     reads: Iterable[Tuple[Optional[str], str]],
                     what: str = '--show-dir') -> Optional[str]:
    """``'WHAT DIR: ...'`` if the drawings cannot be written there,
    else None.

    Refused: a ``show_dir`` that is a file, or is under one; a drawing that
    would be written over a file that is read (an input, a config...); a
    drawing inside a folder given as an input, where running the same
    command again would classify the drawings too; and a drawing whose path
    leads through a symbolic link that another user made in a folder anyone
    can write in (:func:`.planted_link`).

    Args:
        show_dir (str): The folder.
        paths (dict): ``{key: drawing path}``, see :func:`show_paths`.
        folders (Iterable[str]): The folders given as inputs.
        reads (Iterable[tuple]): ``(path, what)`` of the files read; a
            path that is None is skipped.
        what (str): How the folder is named. Defaults to ``'--show-dir'``.
    """
    if osp.exists(show_dir) and not osp.isdir(show_dir):
        return (f'{what} {show_dir}: it is a file; give the folder the '
                'drawings go to.')
    above = nearest_existing(show_dir)
    if not osp.isdir(above):
        return f'{what} {show_dir}: {above} is a file, not a folder.'
    read = _ReadFiles(reads)
    folders = list(folders)
    for key, out in paths.items():
        planted = planted_link(out)
        if planted is not None:
            return (f'{what} {show_dir}: the drawing of {input_name(key)}: '
                    f'{planted}')
        found = read.find(out)
        if found is not None:
            path, role = found
            return (f'{what} {show_dir}: the drawing of '
                    f'{input_name(key)} would be written over the {role} '
                    f'{path}; give another folder.')
        for folder in folders:
            if path_inside(out, folder):
                return (f'{what} {show_dir}: the drawing of '
                        f'{input_name(key)} ({out}) would be written inside '
                        f'the input folder {folder}, where running the same '
                        'command again would classify it too; give a folder '
                        'outside it.')
    return None


def show_dir_paths(show_dir: str,
                   keys: Iterable[InputKey],
                   kind: str,
                   given: Iterable[Any] = (),
                   reads: Iterable[Tuple[Optional[str], str]] = (),
                   what: str = '--show-dir') -> Dict[InputKey, str]:
    """The drawing paths of the inputs ``keys`` (see :func:`show_paths`),
    once :func:`show_dir_problem` finds nothing; the one check of
    :func:`check_show_dir` and of ``tools/infer.py --show-dir``.

    Args:
        show_dir (str): The folder.
        keys (Iterable[str | int]): The inputs, as the results key them;
            each file among them is read, so no drawing may replace it.
        kind (str): ``'video'`` or ``'image'``, see :func:`show_paths`.
        given (Iterable): The inputs as given; the folders among them are
            where no drawing may land. Defaults to ``()``.
        reads (Iterable[tuple]): ``(path, what)`` of the other files read
            (a config, a checkpoint...), see :func:`show_dir_problem`.
            Defaults to ``()``.
        what (str): How the folder is named in messages. Defaults to
            ``'--show-dir'``.

    Raises:
        ValueError: ``'WHAT DIR: why'`` if the drawings cannot be written
            there.
    """
    keys = list(keys)
    try:
        paths = show_paths(keys, show_dir, kind)
    except ValueError as e:
        raise ValueError(f'{what} {show_dir}: {e}') from None
    folders = [
        os.fspath(p) for p in given
        if isinstance(p, (str, os.PathLike)) and osp.isdir(p)
    ]
    reads = list(reads) + [(k, 'input') for k in keys if isinstance(k, str)]
    problem = show_dir_problem(show_dir, paths, folders, reads, what)
    if problem:
        raise ValueError(problem)
    return paths


def check_show_dir(show_dir: str,
                   items: Sequence[Tuple[InputKey, Any]],
                   inputs: Any,
                   kind: str,
                   topk: int = 3) -> Dict[InputKey, str]:
    """The drawing paths of an Inferencer call's inputs: its arguments
    checked, then :func:`show_dir_paths`.

    Args:
        show_dir (str): The folder.
        items (Sequence[tuple]): ``(key, path or array)`` of the call.
        inputs: What the call was given (its folders are checked).
        kind (str): ``'video'`` or ``'image'``.
        topk (int): Classes drawn per task. Defaults to 3.

    Raises:
        ValueError: If ``show_dir`` cannot be used, naming why, or
            ``topk`` is not an int >= 1.
        TypeError: If ``show_dir`` is not a path.
    """
    if isinstance(topk, bool) or not isinstance(topk, int) or topk < 1:
        raise ValueError(f'show_topk: expected an int >= 1, got {topk!r}.')
    if not isinstance(show_dir, (str, os.PathLike)):
        raise TypeError(f'show_dir: expected a folder path, got '
                        f'{type(show_dir).__name__} {show_dir!r:.80}.')
    given = [inputs] if isinstance(
        inputs,
        (str, os.PathLike)) else (inputs if isinstance(inputs,
                                                       (list, tuple)) else [])
    return show_dir_paths(
        os.fspath(show_dir), [key for key, _ in items],
        kind,
        given,
        what='show_dir')
