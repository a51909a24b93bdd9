# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The files inference reads: the video and image extensions, folders
expanded into their files, list files read into their paths, and the error
that names a file that cannot be classified."""
import logging
import os
import os.path as osp
import sys
from typing import Callable, List, Optional, Sequence, Union

from mmengine.logging import print_log

from mmadaptformer.utils.counted import counted
from mmadaptformer.utils.local_files import home_note

__all__ = [
    'VIDEO_EXTENSIONS', 'IMAGE_EXTENSIONS', 'LIST_EXTENSIONS', 'STDIN',
    'InferenceInputError', 'OtherKindInputError', 'check_paths', 'walk_once',
    'warn_hidden', 'same_entry', 'each_once', 'collect_inputs',
    'read_input_list'
]

#: The list "file" that is standard input
#: (``find data -name '*.mp4' | infer.py ... --list -``).
STDIN = '-'

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.webm', '.mkv', '.mov', '.m4v', '.mpg',
                    '.mpeg', '.flv', '.wmv', '.3gp', '.3g2', '.ts', '.mts',
                    '.m2ts', '.ogv', '.asf', '.vob')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif',
                    '.tiff', '.webp')
#: What a list of inputs (:func:`read_input_list`) ends with: given as an
#: input itself, it is refused with a pointer to reading it as a list.
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
                print_log(
                    f'{path}: left out '
                    f'{counted(len(other_kind), other + " files")}, which '
                    f'these models do not classify, e.g. {first}.',
                    logger='current',
                    level=logging.WARNING)
            # Never inputs: a copy from a Mac holds a '._a.mp4' beside each
            # 'a.mp4', which decord cannot read.
            warn_hidden(path, hidden)
            if skipped:
                print_log(
                    f'{path}: left out {counted(len(skipped), "files")} whose '
                    'extension is not one of a video or an image, e.g. '
                    f'{sorted(skipped)[0]}.',
                    logger='current',
                    level=logging.WARNING)
        else:
            files.append(path)
    return each_once(files, 'files')


def warn_hidden(folder: str, hidden: List[str]) -> None:
    """Say, in a warning that counts them and names one, that the hidden
    files and folders ``hidden`` (names starting with ``.``, as
    :func:`walk_once` collects them) of ``folder`` were left out; nothing
    if there are none."""
    if hidden:
        print_log(
            f'{folder}: left out '
            f'{counted(len(hidden), "hidden files or folders")} '
            f"(names starting with '.'), e.g. {sorted(hidden)[0]}.",
            logger='current',
            level=logging.WARNING)


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
        print_log(
            f'inputs: {counted(repeats, what)} '
            f'{"was" if repeats == 1 else "were"} given more than once '
            f'(e.g. {twice}{also}); each is classified once.',
            logger='current',
            level=logging.WARNING)
    return unique


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
