# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Read the owners' annotation files; write OpenMMLab annotation lists.

An annotation list has one sample a line, ``<relative path> <label>``, the
format of mmaction2's ``VideoDataset`` and mmpretrain's ``CustomDataset``.
"""
import os
import os.path as osp
from typing import (Callable, Dict, Iterator, List, NamedTuple, Optional,
                    Sequence, Tuple)

from mmengine.logging import print_log

from mmadaptformer.utils.local_files import folder_not_file
from mmadaptformer.utils.progress import track_progress


class AnnotationError(ValueError):
    """An annotation file is malformed or disagrees with the dataset.

    The message names the file and the line (or JSON entry) at fault.
    """


class Sample(NamedTuple):
    """One line of an annotation list.

    Args:
        filename (str): Path relative to the data prefix.
        label (int): Class index.
        source (str): Where the sample was read, such as ``'train.txt:7'``,
            for error messages.
    """
    filename: str
    label: int
    source: str


class AnnotationList(NamedTuple):
    """A written annotation list.

    Args:
        path (str): The file.
        num_samples (int): Its number of lines.
        num_labels (int): The number of distinct labels in it.
    """
    path: str
    num_samples: int
    num_labels: int


def require_file(path: str, what: str) -> str:
    """Return ``path`` if it is a file, else raise naming ``what`` it is.

    Args:
        path (str): The file.
        what (str): What the file is, such as ``'SSv2 labels JSON'``.

    Returns:
        str: ``path``.
    """
    folder = folder_not_file(path, what)
    if folder is not None:
        # FileNotFoundError still, so that callers catching a missing
        # file catch this too; the message tells the two apart.
        raise FileNotFoundError(folder)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{what} not found: {path}{_one_folder_deeper(path)}')
    return path


def child_holding(folder: str, holds: Callable[[str], bool]) -> Optional[str]:
    """The first entry of ``folder`` (by name; ``''`` is the working
    directory) for which ``holds(path)`` is true, as ``folder/NAME``; None
    if there is none or ``folder`` is no folder. The data tools' hints use
    it to find the folder a user meant one level down.

    Args:
        folder (str): The folder given.
        holds (Callable[[str], bool]): Tells the entry meant.

    Returns:
        str | None: The entry's path.
    """
    if not osp.isdir(folder or '.'):
        return None
    for name in sorted(os.listdir(folder or '.')):
        if holds(osp.join(folder, name)):
            return osp.join(folder, name)
    return None


def _one_folder_deeper(path: str) -> str:
    """``'; there is one at FOLDER/SUB/NAME: ...'`` where a folder beside
    ``path`` holds a file of its name (the dataset's root given for its
    ``annotations`` folder), else ``''``."""
    folder, name = osp.split(path)
    sub = child_holding(folder, lambda sub: osp.isfile(osp.join(sub, name)))
    if sub is None:
        return ''
    return (f'; there is one at {osp.join(sub, name)}: give its folder in '
            f'place of {folder or "."}')


def iter_lines(path: str, what: str) -> Iterator[Tuple[int, str]]:
    """Yield ``(line number, stripped line)`` of a text file.

    Blank lines are skipped; they carry no sample.

    Args:
        path (str): The file.
        what (str): What the file is, for the error if it is missing.

    Yields:
        tuple[int, str]: The 1-based line number and the line without
        surrounding whitespace (or a UTF-8 byte order mark).
    """
    require_file(path, what)
    with open(path, 'rb') as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode('utf-8-sig').strip()
            except UnicodeDecodeError as e:
                raise AnnotationError(
                    f'{path}:{lineno}: not UTF-8 text: {e}') from None
            if line:
                yield lineno, line


def check_unique(samples: Sequence[Sample], what: str) -> None:
    """Raise if two samples have the same file.

    Args:
        samples (Sequence[Sample]): Samples, possibly of several splits.
        what (str): What they are, such as ``'video'``.
    """
    seen: Dict[str, Sample] = {}
    for sample in samples:
        first = seen.setdefault(sample.filename, sample)
        if first is not sample:
            raise AnnotationError(
                f'{sample.source}: {what} {sample.filename!r} is listed '
                f'twice; first at {first.source}')


def check_files_exist(samples: Sequence[Sample], root: str, what: str) -> None:
    """Raise if any sample's file is missing under ``root``.

    Args:
        samples (Sequence[Sample]): Samples to check.
        root (str): The folder their paths are relative to.
        what (str): What the files are, such as ``'video'``.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(
            f'{what.capitalize()} folder not found: {root}')
    # A progress bar on a terminal: 220k files on a network disk take
    # minutes.
    missing = [
        s for s in track_progress(
            samples, f'Checking that {len(samples)} {what}s exist under '
            f'{root}') if not osp.isfile(osp.join(root, s.filename))
    ]
    if missing:
        first = missing[0]
        raise FileNotFoundError(
            f'{len(missing)} of {len(samples)} {what}s are missing under '
            f'{root}; the first is {osp.join(root, first.filename)}, listed '
            f'at {first.source}')
    print_log(
        f'All {len(samples)} {what}s exist under {root}', logger='current')


def write_annotation_list(path: str,
                          samples: Sequence[Sample]) -> AnnotationList:
    """Write ``<filename> <label>`` lines, replacing ``path`` atomically.

    Args:
        path (str): The annotation list to write.
        samples (Sequence[Sample]): Its samples, in order.

    Returns:
        AnnotationList: What was written.
    """
    for sample in samples:
        # Both toolboxes split a line at a space.
        if len(sample.filename.split()) != 1:
            raise AnnotationError(
                f'{sample.source}: file name {sample.filename!r} is empty or '
                'contains whitespace, which annotation lists cannot hold')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.writelines(f'{s.filename} {s.label}\n' for s in samples)
    os.replace(tmp, path)
    written = AnnotationList(path, len(samples),
                             len({s.label
                                  for s in samples}))
    print_log(
        f'Wrote {written.num_samples} samples of {written.num_labels} '
        f'classes to {path}',
        logger='current')
    return written


def write_label_map(path: str, classes: Sequence[str]) -> str:
    """Write class names, the one of label ``i`` on line ``i + 1``.

    Args:
        path (str): The file to write.
        classes (Sequence[str]): Class names in label order.

    Returns:
        str: ``path``.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(f'{name}\n' for name in classes)
    return path


def format_summary(title: str, lists: Dict[str, AnnotationList],
                   unit: str) -> str:
    """A few lines that report written annotation lists, for CLI tools.

    Args:
        title (str): The first line.
        lists (dict[str, AnnotationList]): Written lists by split name.
        unit (str): What a sample is, such as ``'videos'``.

    Returns:
        str: The report.
    """
    width = max(len(name) for name in lists)
    lines: List[str] = [title]
    for name, written in lists.items():
        lines.append(f'  {name:<{width}}  {written.num_samples:>7} {unit}, '
                     f'{written.num_labels:>4} classes -> {written.path}')
    return '\n'.join(lines)


def parse_int(text: str) -> Optional[int]:
    """``int(text)`` for plain decimal digits, else None (no signs, spaces
    or underscores)."""
    return int(text) if text.isascii() and text.isdigit() else None
