# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A line of a video annotation list that its dataset will not read as
meant.

mmaction2's ``VideoDataset`` splits each line of its ``ann_file`` at the
dataset's ``delimiter``. A recipe whose base config sets
``delimiter=','`` (a CSV-style Kinetics list, as mmaction2's UniFormer
recipes), run on a list of ``<path> <label>`` lines split by a space,
took each whole line as a path: ``VideoDataset`` read it as a video
without a label and the run ended in testing with ``FileNotFoundError:
'.../val_0_0.mp4 0'``; ``CheckedVideoDataset`` named the line, but not the
config key, after the work dir was made.

:func:`malformed_video_list` reads a lazily built video dataset's list as
the dataset will, every line of it, and names the first one it cannot
read, with the delimiter that would split it (:func:`delimiter_hint`), or
whose label is outside the dataset's ``num_classes``.
:func:`~.dataset_check.refuse_malformed_video_list` raises it, before the
Runner, as a mistake of the config. Reading every line is cheap: a list of
200,000 lines takes about 0.2 s.
"""
import os.path as osp
from typing import Iterator, List, NamedTuple, Optional, Sequence, Tuple

from .local_files import local_ann_file
from .multi_label_lines import multi_label
from .unlabelled_lines import missing_label

__all__ = [
    'ListProblem', 'split_line', 'is_int', 'extra_labels', 'delimiter_hint',
    'whitespace_hint', 'list_lines', 'label_problem', 'malformed_video_list'
]

#: The delimiters a hint may suggest.
DELIMITERS = (' ', '\t', ',', ';')


class ListProblem(NamedTuple):
    """What is wrong with an annotation list, for the config's error.

    Args:
        argument (str): The dataset argument at fault, e.g. ``'delimiter'``,
            ``'ann_file'`` or ``'data_prefix'``.
        what (str): What is wrong, naming the file and the line.
        delimiter (str, optional): Another delimiter that splits the line,
            for a problem of ``delimiter``. Defaults to None.
    """
    argument: str
    what: str
    delimiter: Optional[str] = None


def split_line(line: str, delimiter: str, strict: bool) -> List[str]:
    """The fields of an annotation line.

    Args:
        line (str): The line.
        delimiter (str): The dataset's ``delimiter``.
        strict (bool): As ``CheckedVideoDataset`` reads it: ``' '``
            splits at any run of whitespace and each field is stripped.
            Else as mmaction2's ``VideoDataset``: the stripped line split
            at each ``delimiter``.

    Returns:
        list[str]: The fields.
    """
    if not strict:
        return line.strip().split(delimiter)
    if delimiter == ' ':
        return line.split()
    return [field.strip() for field in line.split(delimiter)]


def is_int(text: str, strict: bool) -> bool:
    """Whether a label reads: as ``CheckedVideoDataset`` reads it (plain
    digits) if ``strict``, else as mmaction2's datasets do (``int()``)."""
    if strict:
        return text.isascii() and text.isdigit()
    try:
        int(text)
    except ValueError:
        return False
    return True


def extra_labels(fields: Sequence[str], multi_class: bool,
                 prefix: Optional[str], strict: bool) -> bool:
    """Whether a line split into ``fields`` is a video and more labels
    than one, in a dataset that reads one.

    Args:
        fields (Sequence[str]): The line's fields, split at the dataset's
            delimiter.
        multi_class (bool): The dataset's ``multi_class``.
        prefix (str, optional): The folder of the paths.
        strict (bool): Labels are read as ``CheckedVideoDataset`` reads
            them (plain digits), else as mmaction2's datasets do
            (``int()``).

    Returns:
        bool: True if ``multi_class`` is off and the line holds three
        fields or more, all but the first integers, the first an existing
        file or a name with an extension (``'a.mp4'``); False for a path
        with a space in it (``'my clip.mp4 0'``, ``'clip 1 0'``, or any
        line whose first fields joined by a space name a file).
    """
    if multi_class or len(fields) < 3 or not fields[0]:
        return False
    if not all(is_int(label, strict) for label in fields[1:]):
        return False

    def is_file(name: str) -> bool:
        return osp.isfile(osp.join(prefix, name) if prefix else name)

    if any(is_file(' '.join(fields[:end])) for end in range(2, len(fields))):
        return False
    return is_file(fields[0]) or bool(osp.splitext(fields[0])[1])


def _readable(fields: Sequence[str],
              multi_class: bool,
              strict: bool = True) -> bool:
    """Whether ``fields`` are a path and its integer label(s)."""
    labels = fields[1:]
    if not fields[0] or not labels or (not multi_class and len(labels) > 1):
        return False
    return all(is_int(label, strict) for label in labels)


def delimiter_hint(line: str,
                   delimiter: str,
                   multi_class: bool,
                   prefix: Optional[str],
                   strict: bool = True) -> Optional[Tuple[str, str]]:
    """Another delimiter that splits ``line`` into a path and integer
    label(s), as the dataset would split it with that delimiter.

    Args:
        line (str): An annotation line that ``delimiter`` does not split.
        delimiter (str): The dataset's ``delimiter``.
        multi_class (bool): Whether a line may hold several labels.
        prefix (str, optional): The folder of the paths.
        strict (bool): The line is read as ``CheckedVideoDataset`` reads
            it (``' '`` splits at any run of whitespace), else as
            mmaction2's ``VideoDataset`` (at each single delimiter), see
            :func:`split_line`. Defaults to True.

    Returns:
        tuple, optional: ``(delimiter, what)``, e.g. ``(' ', "the existing
        video data/val_0_0.mp4 and label 0")``; None if none does.
    """
    for other in DELIMITERS:
        if other == delimiter or other not in line:
            continue
        fields = split_line(line, other, strict)
        if _readable(fields, multi_class,
                     strict) and (strict or fields[0] == fields[0].strip()):
            return other, _fields_read(fields, prefix)
    return None


def whitespace_hint(line: str,
                    delimiter: Optional[str],
                    multi_class: bool,
                    prefix: Optional[str],
                    dataset_type: str = 'VideoDataset') -> Optional[str]:
    """How to read ``line``, whose fields are separated by runs of
    whitespace (``'a.mp4  0'``, ``'a.mp4 \\t0'``), with mmaction2's
    ``VideoDataset``, which splits at each single ``delimiter``: no
    delimiter of :func:`delimiter_hint` reads it, ``delimiter=None``
    (``str.split`` at any run of whitespace) does.

    Args:
        line (str): An annotation line that ``delimiter`` does not split.
        delimiter (str, optional): The dataset's ``delimiter``.
        multi_class (bool): Whether a line may hold several labels.
        prefix (str, optional): The folder of the paths.
        dataset_type (str): The dataset that reads the line, for the
            message, e.g. ``'MyVideos (a VideoDataset)'``. Defaults to
            ``'VideoDataset'``.

    Returns:
        str, optional: What the line reads as and how to set
        ``delimiter``; None if splitting at any whitespace does not read
        it either (or ``delimiter`` already does).
    """
    fields = line.split()
    if delimiter is None or not _readable(fields, multi_class):
        return None
    return (f'split at any run of whitespace it is '
            f'{_fields_read(fields, prefix)}, but {dataset_type} splits at '
            f'each single {delimiter!r}: set delimiter=None (any run of '
            f'whitespace), or write the line {delimiter.join(fields)!r}')


def _reader_name(dataset) -> str:
    """The type of ``dataset``, a mmaction2 ``VideoDataset`` that splits
    each line at each single delimiter, for an error: ``'VideoDataset'``,
    or a subclass's name with the class it reads as, ``'MyVideos (a
    VideoDataset)'``."""
    name = type(dataset).__name__
    return name if name == 'VideoDataset' else f'{name} (a VideoDataset)'


def _fields_read(fields: Sequence[str], prefix: Optional[str]) -> str:
    """``'the existing video data/a.mp4 and label 0'``: what a line split
    into ``fields`` names."""
    path = osp.join(prefix, fields[0]) if prefix else fields[0]
    video = ('the existing video' if osp.isfile(path) else 'the path')
    labels = 'labels' if len(fields) > 2 else 'label'
    return f'{video} {path} and {labels} {", ".join(fields[1:])}'


def list_lines(ann_file: str) -> Iterator[Tuple[int, str]]:
    """``(number, line)`` of each non-blank line of ``ann_file``,
    stripped."""
    with open(ann_file, encoding='utf-8-sig', errors='replace') as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if line:
                yield number, line


def label_problem(labels: Sequence[str], num_classes: Optional[int],
                  where: str) -> Optional[str]:
    """What is wrong with the integer ``labels`` of a line, given the
    dataset's ``num_classes``; None if each is in ``[0, num_classes)``
    (or ``num_classes`` is not set).

    Args:
        labels (Sequence[str]): The line's label fields, integers.
        num_classes (int, optional): The dataset's ``num_classes``.
        where (str): The line, e.g. ``"line 2 of val.txt, 'a.mp4 5',"``.
    """
    if not isinstance(num_classes, int) or isinstance(num_classes, bool):
        return None
    for label in labels:
        if not 0 <= int(label) < num_classes:
            return (f'{where} has the label {int(label)}, outside [0, '
                    f'{num_classes}) (num_classes={num_classes}); a label '
                    "is the class's index, from 0")
    return None


def malformed_video_list(dataset) -> Optional[ListProblem]:
    """The first line of a lazily built mmaction2 ``VideoDataset``'s local
    ``ann_file`` that it will not read as meant, every line read.

    That is a line whose fields are not a path and integer label(s), except
    that a ``VideoDataset`` (not a subclass that sets ``strict_lines``,
    such as ``CheckedVideoDataset``) reads a line of one field as a video
    without a label; that line is named only when it is no file and
    another delimiter (:func:`delimiter_hint`) or runs of whitespace
    (:func:`whitespace_hint`, ``'a.mp4  0'``) split it into a path and
    labels. A label outside the dataset's ``num_classes`` (if set) is
    named too, and, for a ``VideoDataset``, a path with whitespace around
    it (``'a.mp4 ,0'`` split at ``','``) that names no file. A line that
    no other delimiter splits either is named as a problem of the list,
    not of ``delimiter``, when it lacks a label (one field, for
    ``CheckedVideoDataset``) or its label is no integer
    (``'a.mp4 x'``).

    Args:
        dataset: A dataset built with ``lazy_init=True``.

    Returns:
        ListProblem, optional: ``delimiter`` with the delimiter that would
        split the line (None if none does), or ``ann_file`` for a missing
        label, a label that is no integer or is outside ``num_classes``,
        or a padded path that names no file; None
        if every line reads, or nothing could be checked (another dataset,
        a list that is not a local file).
    """
    try:
        from mmaction.datasets import VideoDataset
    except ImportError:  # no mmaction2: none of its datasets to check
        return None
    ann_file = local_ann_file(dataset)
    if not isinstance(dataset, VideoDataset) or ann_file is None:
        return None
    strict = bool(getattr(dataset, 'strict_lines', False))
    delimiter, multi_class = dataset.delimiter, dataset.multi_class
    num_classes = getattr(dataset, 'num_classes', None)
    prefix = dataset.data_prefix.get('video')
    reader = _reader_name(dataset)
    for number, line in list_lines(ann_file):
        fields = split_line(line, delimiter, strict)
        where = f'line {number} of {ann_file}, {line!r},'
        if _readable(fields, multi_class, strict):
            wrong = label_problem(
                fields[1:], num_classes,
                where) or (None if strict else _padded_path(
                    fields[0], prefix, where, delimiter, reader))
            if wrong is not None:
                return ListProblem('ann_file', wrong)
            continue
        if extra_labels(fields, multi_class, prefix, strict):
            # Named at the list, as the rawframe lists' check names it.
            return ListProblem(
                'ann_file',
                multi_label(where, fields[1:],
                            type(dataset).__name__))
        hint = delimiter_hint(line, delimiter, multi_class, prefix, strict)
        note = (None if strict or hint is not None else whitespace_hint(
            line, delimiter, multi_class, prefix, reader))
        if len(fields) == 1 and not strict:
            path = osp.join(prefix, line) if prefix else line
            if (hint is None and note is None) or osp.exists(path):
                continue
        expected = ('<path> <label> [<label> ...]'
                    if multi_class else '<path> <label>')
        if hint is None and note is None:
            wrong = _unlabelled(fields, multi_class, strict, where, expected,
                                type(dataset).__name__)
            if wrong is not None:
                return ListProblem('ann_file', wrong)
        what = (f'does not split {where} into {expected!r} '
                f'({len(fields)} field{"s" if len(fields) != 1 else ""})')
        if hint is None:
            return ListProblem('delimiter',
                               what if note is None else f'{what}; {note}')
        return ListProblem('delimiter',
                           f'{what}; split at {hint[0]!r} it is {hint[1]}',
                           hint[0])
    return None


def _unlabelled(fields: Sequence[str], multi_class: bool, strict: bool,
                where: str, expected: str, name: str) -> Optional[str]:
    """What is wrong with a line whose fields no delimiter reads, if it is
    its label rather than how it is split: a line of one field read by
    ``CheckedVideoDataset`` (a ``VideoDataset`` reads it as a video
    without a label), or a path and as many labels as the dataset takes,
    one of which is no integer; None for any other line."""
    if len(fields) == 1 and strict:
        # A list without labels (SSv2's test set), or a line that lost
        # its label: no delimiter would split it.
        return missing_label(where, expected, name)
    labels = fields[1:]
    if not fields[0] or not labels or (not multi_class and len(labels) > 1):
        return None
    for label in labels:
        if not is_int(label, strict):
            integer = 'a non-negative integer' if strict else 'an integer'
            return (f'{where} has the label {label!r}: expected {integer}, '
                    "the class's index from 0 (a line is "
                    f'{expected!r})')
    return None


def _padded_path(path: str, prefix: Optional[str], where: str, delimiter: str,
                 reader: str) -> Optional[str]:
    """What is wrong with a path field that mmaction2's ``VideoDataset``
    keeps with the whitespace around it (``'a.mp4 ,0'`` split at
    ``','``), naming no file; None for any other."""
    if path == path.strip():  # most lines: no look at the disk, no join
        return None
    if osp.exists(osp.join(prefix, path) if prefix else path):
        return None
    return (f'{where} names the video {path!r}, whitespace included, '
            f'which does not exist: {reader} splits the line at each '
            f'{delimiter!r} and keeps the spaces around the path; remove '
            'them (CheckedVideoDataset strips each field)')
