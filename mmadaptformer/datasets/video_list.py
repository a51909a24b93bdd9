# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Parse an OpenMMLab video annotation list, checking every line.

The format is mmaction2's ``VideoDataset`` one: a line ``<path> <label>``
(``<path> <label> [<label> ...]`` with ``multi_class``) a video. Used by
:class:`~mmadaptformer.datasets.CheckedVideoDataset` when it is built; an
error names the file and line at fault.
"""
import os.path as osp
from typing import List, Optional

from mmadaptformer.utils.multi_label_lines import multi_label
from mmadaptformer.utils.unlabelled_lines import missing_label
from mmadaptformer.utils.video_ann_file import (delimiter_hint, extra_labels,
                                                split_line)
from .annotation_lists import AnnotationError, iter_lines, parse_int

__all__ = ['parse_label', 'parse_video_list']


def parse_label(text: str, source: str, line: str,
                num_classes: Optional[int]) -> int:
    """A label of an annotation line, a non-negative integer below
    ``num_classes`` (if set); else raise :class:`AnnotationError`."""
    label = parse_int(text)
    if label is None:
        raise AnnotationError(
            f'{source}: label {text!r} is not a non-negative integer, '
            f'in line {line!r}')
    if num_classes is not None and label >= num_classes:
        raise AnnotationError(
            f'{source}: label {label} is outside [0, '
            f'{num_classes}) (num_classes={num_classes}), in '
            f'line {line!r}')
    return label


def parse_video_list(ann_file: str,
                     prefix: Optional[str],
                     delimiter: str = ' ',
                     multi_class: bool = False,
                     num_classes: Optional[int] = None) -> List[dict]:
    """Parse an annotation list, checking every line.

    Args:
        ann_file (str): The annotation list.
        prefix (str, optional): The folder the paths are relative to.
        delimiter (str): What separates the fields of a line; ``' '`` splits
            at any whitespace. Defaults to ``' '``.
        multi_class (bool): A line may hold several labels.
            Defaults to False.
        num_classes (int, optional): Labels must be below it.
            Defaults to None (not checked).

    Returns:
        list[dict]: ``filename``, ``label`` and ``source`` (``file:line``
        of the annotation) of each video.

    Raises:
        AnnotationError: On a malformed line (naming the delimiter that
            splits it into a path and labels, if another one does:
            :func:`~mmadaptformer.utils.video_ann_file.delimiter_hint`; a
            path and labels without ``multi_class`` as such:
            :func:`~mmadaptformer.utils.multi_label_lines.multi_label`; a
            line of one field that none splits as having no label:
            :func:`~mmadaptformer.utils.unlabelled_lines.missing_label`) or
            an empty list.
    """
    data_list = []
    for lineno, line in iter_lines(ann_file, 'Annotation file'):
        source = f'{ann_file}:{lineno}'
        fields = split_line(line, delimiter, strict=True)
        if len(fields) < 2 or (not multi_class and len(fields) > 2):
            if extra_labels(fields, multi_class, prefix, strict=True):
                raise AnnotationError(
                    multi_label(f'{source}: the line {line!r}', fields[1:],
                                'CheckedVideoDataset') + '.')
            expected = ('<path> <label> [<label> ...]'
                        if multi_class else '<path> <label>')
            hint = delimiter_hint(line, delimiter, multi_class, prefix)
            if len(fields) == 1 and hint is None:
                raise AnnotationError(
                    missing_label(f'{source}: the line {line!r}', expected,
                                  'CheckedVideoDataset') + '.')
            raise AnnotationError(
                f'{source}: expected {expected!r} separated by '
                f'{delimiter!r}, got {len(fields)} fields in line '
                f'{line!r}' + ('' if hint is None else
                               f'; split at {hint[0]!r} it is {hint[1]}: '
                               f'set delimiter={hint[0]!r}'))
        labels = [
            parse_label(f, source, line, num_classes) for f in fields[1:]
        ]
        filename = fields[0]
        if prefix is not None:
            filename = osp.join(prefix, filename)
        data_list.append(
            dict(
                filename=filename,
                label=labels if multi_class else labels[0],
                source=source))
    if not data_list:
        raise AnnotationError(
            f'{ann_file}: the annotation file lists no videos')
    return data_list
