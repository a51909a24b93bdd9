# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Label map files: the class of label ``i`` on line ``i + 1``, as the data
tools (``tools/data/*``) write them next to the annotation lists.

Read by :class:`~mmadaptformer.datasets.CheckedVideoDataset` (its
``classes``, which checkpoints then record) and by ``tools/infer.py``'s
``--label-map``.
"""
import codecs
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

__all__ = ['LabelMapError', 'read_label_map', 'load_class_names']


class LabelMapError(ValueError):
    """A label map file that cannot name the model's classes."""


def read_label_map(path: str) -> List[str]:
    """Class names from a file with the class of label ``i`` on line
    ``i + 1``, as the data tools write it; blank lines may end the file,
    and a UTF-8 byte order mark (Windows editors write one) is skipped.

    Args:
        path (str): The label map file.

    Returns:
        list[str]: The names, in label order.

    Raises:
        LabelMapError: If a blank line comes before a name: every later
            name would be one label off; or if the file is not UTF-8 text
            (naming its line and byte).
    """
    try:
        with open(path, encoding='utf-8-sig') as f:
            lines = [line.strip() for line in f]
    except UnicodeDecodeError as e:
        raise LabelMapError(_not_utf8(path, e)) from None
    while lines and not lines[-1]:
        lines.pop()
    if '' in lines:
        raise LabelMapError(
            f'{path}, line {lines.index("") + 1}: a blank line between class '
            'names; the class of label i is on line i + 1, so every later '
            'name would be one label off.')
    return lines


def _not_utf8(path: str, error: UnicodeDecodeError) -> str:
    """The message for a label map that is not UTF-8 text (one saved in
    Latin-1 or a Windows code page): its line and the byte that does not
    decode, which the decoder's own message (a position inside the
    reader's buffer, no file) did not say."""
    with open(path, 'rb') as f:
        data = f.read()
    # bytes.splitlines splits as text mode's universal newlines do.
    for lineno, raw in enumerate(data.splitlines(), 1):
        # The first line's byte order mark (utf-8-sig) is counted in the
        # line's bytes, not decoded.
        skip = len(codecs.BOM_UTF8) if lineno == 1 and raw.startswith(
            codecs.BOM_UTF8) else 0
        try:
            raw[skip:].decode('utf-8')
        except UnicodeDecodeError as e:
            at = skip + e.start
            return (f'{path}, line {lineno}: not UTF-8 text (byte '
                    f'{at + 1} of the line is 0x{raw[at]:02x}, '
                    'as Latin-1 or a Windows code page writes an accented '
                    'letter); save the label map as UTF-8, the class of '
                    'label i on line i + 1.')
    return (f'{path}: not UTF-8 text ({error.reason}); save the label map '
            'as UTF-8, the class of label i on line i + 1.')


def load_class_names(
    classes: Optional[Union[str, Sequence[str]]],
    num_classes: Optional[int] = None,
    owner: str = 'classes',
    origin: str = 'tools/data/<dataset>/build_file_list.py writes it '
    'next to the annotation lists'
) -> Optional[Tuple[str, ...]]:
    """Class names given as a list or as a label map file, checked.

    Args:
        classes (str | Sequence[str], optional): The names in label order,
            or a label map file (see :func:`read_label_map`). None gives
            None.
        num_classes (int, optional): How many names there must be.
            Defaults to None (not checked).
        owner (str): Who asks, for the messages. Defaults to ``'classes'``.
        origin (str): Where the file comes from, for the message when it
            is missing. Defaults to what ``tools/data`` writes.

    Returns:
        tuple[str], optional: The names, in label order.

    Raises:
        FileNotFoundError: If the label map file does not exist.
        LabelMapError: If there are not ``num_classes`` names, a name is
            not a string or one is given twice (two labels would print
            alike).
    """
    if classes is None:
        return None
    if isinstance(classes, str):
        if not osp.isfile(classes):
            raise FileNotFoundError(
                f'{owner}: label map {classes} not found (the class of label '
                f'i on line i + 1; {origin}). Build it, point `classes` at '
                'your own, or set classes=None to train without class names.')
        names = read_label_map(classes)
        where = classes
        line = 'line'
    else:
        names = list(classes)
        where = f'{owner} (a list)'
        line = 'entry'
        for i, name in enumerate(names):
            if not isinstance(name, str):
                raise LabelMapError(
                    f'{where}, {line} {i + 1}: {name!r} is a '
                    f'{type(name).__name__}, expected a class name (str).')
    if num_classes is not None and len(names) != num_classes:
        raise LabelMapError(
            f'{where}: {len(names)} class names, but num_classes='
            f'{num_classes}; the class of label i must be on {line} i + 1.')
    first = {}
    for i, name in enumerate(names):
        if name in first:
            raise LabelMapError(
                f'{where}, {line} {i + 1}: {name!r} again (first on {line} '
                f'{first[name] + 1}); every label needs its own name.')
        first[name] = i
    return tuple(names)
