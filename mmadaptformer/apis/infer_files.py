# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The files inference reads: the video and image extensions, folders
expanded into their files, and the error that names a file that cannot be
classified. List files are read into their paths by
:mod:`~mmadaptformer.apis.input_lists`."""
import logging
import os
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

from mmengine.logging import print_log

from mmadaptformer.utils.control_characters import escape_controls
from mmadaptformer.utils.counted import counted

__all__ = [
    'VIDEO_EXTENSIONS', 'IMAGE_EXTENSIONS', 'LIST_EXTENSIONS',
    'InferenceInputError', 'OtherKindInputError', 'check_paths', 'walk_once',
    'warn_hidden', 'warn_input', 'same_entry', 'each_once', 'collect_inputs'
]

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.webm', '.mkv', '.mov', '.m4v', '.mpg',
                    '.mpeg', '.flv', '.wmv', '.3gp', '.3g2', '.ts', '.mts',
                    '.m2ts', '.ogv', '.asf', '.vob')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif',
                    '.tiff', '.webp')
#: What a list of inputs
#: (:func:`~mmadaptformer.apis.input_lists.read_input_list`) ends with:
#: given as an input itself, it is refused with a pointer to reading it as
#: a list.
LIST_EXTENSIONS = ('.txt', '.list', '.lst')


class InferenceInputError(ValueError):
    """An input file cannot be classified; the message names the file."""


class OtherKindInputError(InferenceInputError):
    """An input of a kind the model's test pipeline does not read: a clip's
    folder of frames for one that decodes video files, a video file for one
    that reads extracted frames, a folder without frames named as its test
    set names them. In a multi-task run, a task that another task reads
    such an input for skips it (``{"skipped": message}``) rather than
    failing; the message names the file."""


_Path = Union[str, os.PathLike]


def walk_once(folder: str,
              hidden: List[str],
              stop: Optional[Callable[[str], bool]] = None):
    """``os.walk(folder)`` into symlinked folders too, each real folder
    once: a link to a folder already walked (a loop back up, or a second
    link to the same one) is not entered again. Hidden entries (names
    starting with ``.``: macOS's ``._clip.mp4`` resource forks,
    ``.ipynb_checkpoints``, ``.git``) are not walked or yielded; their
    paths are appended to ``hidden``.

    Args:
        folder (str): The folder.
        hidden (list[str]): Where the hidden paths are appended.
        stop (Callable, optional): A folder (``folder`` itself aside) for
            which ``stop(path)`` is true is yielded but not walked into
            (a clip's folder of frames). Defaults to None.

    Yields:
        tuple[str, list[str]]: A folder and the names of its files and
        folders that are not hidden.
    """
    seen = set()
    for root, dirs, names in os.walk(folder, followlinks=True):
        real = osp.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        hidden += [osp.join(root, n) for n in dirs + names if n[:1] == '.']
        dirs[:] = [d for d in dirs if d[:1] != '.']
        if stop is not None and root != folder and stop(root):
            dirs[:] = []
        yield root, [n for n in names if n[:1] != '.']


def check_paths(paths: Union[_Path, Sequence[_Path]]) -> List[str]:
    """One path or a sequence of them, as a list of ``str``.

    Raises:
        TypeError: If ``paths`` or one of its items is neither a ``str``
            nor an ``os.PathLike`` of one (a sequence for ``paths``),
            naming its index.
    """
    expected = 'a path (str or os.PathLike) or a sequence of paths'
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    elif isinstance(paths, (bytes, bytearray)) or \
            not isinstance(paths, Sequence):
        raise TypeError(f'inputs: expected {expected}, got '
                        f'{type(paths).__name__} {paths!r:.80}.')
    checked = []
    for index, item in enumerate(paths):
        path = os.fspath(item) if isinstance(item, os.PathLike) else item
        if not isinstance(path, str):
            raise TypeError(f'inputs[{index}]: expected {expected}, got '
                            f'{type(item).__name__} {item!r:.80}.')
        checked.append(path)
    return checked


def collect_inputs(paths: Union[_Path, Sequence[_Path]],
                   extensions: Optional[Sequence[str]] = None) -> List[str]:
    """Expand folders into their video and image files (sorted, recursive).

    Files are kept as given, whatever their extension, so that a missing or
    unreadable file gets its own error instead of disappearing. Folders
    are searched through symlinked subfolders too, each real folder once
    (a link loop ends). Files in a folder whose extension is neither in
    :data:`VIDEO_EXTENSIONS` nor in :data:`IMAGE_EXTENSIONS` are left out,
    with a warning that counts them; so are, given ``extensions``, the
    videos or images the models do not classify (the cover images in a
    folder of videos), in a warning of their own, and hidden files and
    folders (names starting with ``.``, such as macOS's ``._clip.mp4``), in
    a third.

    Args:
        paths (str | os.PathLike | Sequence[str | os.PathLike]): One file
            or folder, or a sequence of them (what MMAction2's and
            MMPretrain's Inferencers take). A single path is one input,
            not a sequence of characters.
        extensions (Sequence[str], optional): The extensions of the files
            the models classify (:data:`VIDEO_EXTENSIONS`,
            :data:`IMAGE_EXTENSIONS`): a folder's files of other kinds are
            left out, and a folder without such a file is refused.
            Defaults to None (videos and images are kept).

    Returns:
        list[str]: Files, in the given order, folders expanded, each once
        (a repeat is left out, with a warning); every path a ``str``.

    Raises:
        TypeError: If ``paths`` or one of its items is neither a ``str``
            nor an ``os.PathLike`` of one (a sequence for ``paths``).
        InferenceInputError: If a folder holds no file with one of
            ``extensions``, naming it and them (and, for videos, the
            images it holds: a folder of extracted frames, which a config
            that decodes video files does not read).
    """
    wanted = tuple(extensions) if extensions else \
        VIDEO_EXTENSIONS + IMAGE_EXTENSIONS
    files = []
    for path in check_paths(paths):
        if osp.isdir(path):
            found, other_kind, skipped, hidden = [], [], [], []
            for root, names in walk_once(path, hidden):
                for name in names:
                    lower = name.lower()
                    if lower.endswith(wanted):
                        kept = found
                    elif lower.endswith(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS):
                        kept = other_kind
                    else:
                        kept = skipped
                    kept.append(osp.join(root, name))
            files += sorted(found)
            if extensions and not found:
                kinds = ' or '.join(kind
                                    for kind, known in (('video',
                                                         VIDEO_EXTENSIONS),
                                                        ('image',
                                                         IMAGE_EXTENSIONS))
                                    if set(known) & set(extensions))
                note = '' if kinds != 'video' or not other_kind else (
                    f'; it holds {counted(len(other_kind), "image files")} '
                    f'(e.g. {sorted(other_kind)[0]}), extracted frames? The '
                    "model's config decodes video files (its test pipeline "
                    'opens them, with DecordInit); a folder of frames is '
                    'classified with a config whose test pipeline reads '
                    "them with RawFrameDecode, as MMAction2's rawframe "
                    'configs do')
                if kinds == 'image' and other_kind:
                    note = (f'; it holds '
                            f'{counted(len(other_kind), "video files")} (e.g. '
                            f'{sorted(other_kind)[0]}), which this image '
                            "model's config does not read: classify them with "
                            'a video config (MMAction2 recognizer)')
                raise InferenceInputError(
                    f'{path}: a folder without {kinds} files, in it or its '
                    f'subfolders (looked for {", ".join(extensions)})'
                    f'{note}.')
            if other_kind:
                # A video folder's cover images (or an image folder's
                # clips) are not the models' inputs: each would be an
                # error and make the whole run fail.
                first = sorted(other_kind)[0]
                other = 'image' if first.lower().endswith(
                    IMAGE_EXTENSIONS) else 'video'
                warn_input(
                    f'{path}: left out '
                    f'{counted(len(other_kind), other + " files")}, which '
                    f'these models do not classify, e.g. {first}.')
            # Never inputs: a copy from a Mac holds a '._a.mp4' beside each
            # 'a.mp4', which decord cannot read.
            warn_hidden(path, hidden)
            if skipped:
                warn_input(
                    f'{path}: left out {counted(len(skipped), "files")} whose '
                    'extension is not one of a video or an image, e.g. '
                    f'{sorted(skipped)[0]}.')
        else:
            files.append(path)
    return each_once(files, 'files')


def warn_input(message: str) -> None:
    """Log ``message``, a warning naming inputs, as a WARNING with its
    control characters escaped (a file name can hold a terminal's control
    sequences: see :func:`~mmadaptformer.utils.control_characters.
    escape_controls`)."""
    print_log(
        escape_controls(message), logger='current', level=logging.WARNING)


def warn_hidden(folder: str, hidden: List[str]) -> None:
    """Say, in a warning that counts them and names one, that the hidden
    files and folders ``hidden`` (names starting with ``.``, as
    :func:`walk_once` collects them) of ``folder`` were left out; nothing
    if there are none."""
    if hidden:
        warn_input(f'{folder}: left out '
                   f'{counted(len(hidden), "hidden files or folders")} '
                   f"(names starting with '.'), e.g. {sorted(hidden)[0]}.")


def same_entry(path):
    """One key for every spelling of a path: ``a.mp4``, ``./a.mp4``, its
    absolute path, one through a linked or ``..`` folder. A link's own
    name is an entry of its own (its file is classified under each name);
    anything but a ``str`` (an array's index) is its own key."""
    if not isinstance(path, str):
        return path
    folder, name = osp.split(path.rstrip(os.sep) or path)
    if name in ('', '.', '..'):
        return osp.realpath(path), ''
    return osp.realpath(folder or os.curdir), name


def each_once(found: List[str], what: str) -> List[str]:
    """``found`` in its order, each once (:func:`same_entry`: other
    spellings of a path count); repeats are left out, with a warning that
    counts them and names one (``what`` they are).

    The results are keyed by path, as first given: a second run of one
    would only cost time (a file named and also found in a folder given).
    """
    first = {}
    for path in found:
        first.setdefault(same_entry(path), path)
    unique = list(first.values())
    if len(unique) < len(found):
        seen = set()
        for twice in found:  # the first repeat
            if same_entry(twice) in seen:
                break
            seen.add(same_entry(twice))
        given = first[same_entry(twice)]
        also = '' if given == twice else f', the same file as {given}'
        repeats = len(found) - len(unique)
        warn_input(f'inputs: {counted(repeats, what)} '
                   f'{"was" if repeats == 1 else "were"} given more than once '
                   f'(e.g. {twice}{also}); each is classified once.')
    return unique
