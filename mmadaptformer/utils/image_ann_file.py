# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A line of an image annotation list that mmpretrain cannot read.

mmpretrain's ``CustomDataset`` reads an ``ann_file`` as ``<image> <label>``
lines (split at the last space, the label an int) while the Runner builds
the dataset: a line without a label, a tab for the space, a class name for
the label or a blank line (an extra newline at the end included) ended the
run with ``ValueError: not enough values to unpack (expected 2, got 1)``
or ``invalid literal for int()``, naming neither the file nor the line,
after the work dir was made. :func:`malformed_image_list` reads the list as
mmpretrain does and names the first such line.
"""
from typing import Optional, Tuple

from mmengine.fileio import list_from_file

from .local_files import local_ann_file

__all__ = ['malformed_image_list']


def malformed_image_list(dataset) -> Optional[Tuple[str, str]]:
    """The first line that a lazily built mmpretrain ``CustomDataset``
    (with labels) would fail to read from its local ``ann_file``.

    Args:
        dataset: A dataset built with ``lazy_init=True``.

    Returns:
        tuple, optional: ``('ann_file', what)``, e.g. ``('ann_file',
        "line 3 of data/train.txt, 'a.png', is not '<image> <label>' ...")``;
        None if every line reads, or nothing could be checked (another
        dataset, no labels, a list that is not a local file).
    """
    try:
        from mmpretrain.datasets import CustomDataset
    except ImportError:  # no mmpretrain: none of its datasets to check
        return None
    ann_file = local_ann_file(dataset)
    if not isinstance(dataset, CustomDataset) or not dataset.with_label or \
            ann_file is None:
        return None
    try:
        lines = list_from_file(ann_file)
    except OSError:  # a missing file is named by the check before this
        return None
    for number, line in enumerate(lines, start=1):
        parts = line.strip().rsplit(' ', 1)
        if len(parts) == 2:
            try:
                int(parts[1])
                continue
            except ValueError:
                pass
        return 'ann_file', (
            f'line {number} of {ann_file}, {line!r}, is not '
            "'<image> <label>' (the label an int, after the last space; "
            f'{type(dataset).__name__} reads every line of the list, a blank '
            'one too)')
    return None
