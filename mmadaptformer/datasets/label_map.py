# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Label map files: the class of label ``i`` on line ``i + 1``, as the data
tools (``tools/data/*``) write them next to the annotation lists.

Read by :class:`~mmadaptformer.datasets.CheckedVideoDataset` (its
``classes``, which checkpoints then record) and by ``tools/infer.py``'s
``--label-map``.
"""
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
            name would be one label off.
    """
    with open(path, encoding='utf-8-sig') as f:
        lines = [line.strip() for line in f]
    while lines and not lines[-1]:
        lines.pop()
    if '' in lines:
        raise LabelMapError(
            f'{path}, line {lines.index("") + 1}: a blank line between class '
            'names; the class of label i is on line i + 1, so every later '
            'name would be one label off.')
    return lines


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
