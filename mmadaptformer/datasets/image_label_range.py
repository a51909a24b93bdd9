# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Labels of an image or video dataset outside the head's classes.

mmpretrain reads the labels of an annotation list (``<image> <label>``) as
they are. A list that counts its classes from 1 has a label equal to the
number of classes: training stopped at the first batch holding one, from
inside the data preprocessor (``RuntimeError: Class values must be smaller
than num_classes.``, no file named), and a validation set scored such
samples as wrong without a word. mmaction2's ``RawframeDataset`` and
``VideoDataset`` read theirs as they are too: a label of 5 with two
classes ended training with ``IndexError: Target 5 is out of bounds.``
from the loss. :func:`labels_out_of_range` finds them in a built dataset,
before it is used.

The other way round, a head of more classes than the annotation list
holds (a Kinetics-400 config, ``cls_head.num_classes=400``, on a list of
labels 0 and 1) trained without a word: the labels are in range, and a
list declares no number of classes (a class folder or ``metainfo``
does, and the ``ConfigCheckHook`` refuses a head that differs from it).
:func:`labels_short_of` names it, for a warning: a list need not hold
every class.
"""
import numbers
from typing import Optional

import numpy as np

__all__ = ['labels_out_of_range', 'labels_short_of', 'unlabelled']

# How many samples at fault an error spells out.
_SHOWN = 3


def labels_out_of_range(dataset, num_classes: int) -> Optional[str]:
    """What is outside ``[0, num_classes)`` among the single labels
    (``gt_label``, as mmpretrain's datasets give them, or ``label``, as
    mmaction2's do) of ``dataset``.

    Args:
        dataset: A fully built mmengine ``BaseDataset``; anything else,
            and samples without a single integer label (multi-label),
            are not checked.
        num_classes (int): The head's number of classes.

    Returns:
        str, optional: e.g. ``'12 of 36 samples have a label outside [0,
        3): train/eel/0.png (label 3), ... (the labels run from 1 to 3:
        they must count from 0)'``; None if every label is in range.
    """
    from mmengine.dataset import BaseDataset
    if not isinstance(dataset, BaseDataset) or \
            not getattr(dataset, '_fully_initialized', False):
        return None
    bad, seen = [], []
    for index in range(len(dataset)):
        label = _single(_label(dataset.get_data_info(index)))
        if label is None:
            continue
        seen.append(label)
        if not 0 <= label < num_classes:
            bad.append(index)
    if not bad:
        return None
    shown = ', '.join(f'{_image(dataset, i)} (label '
                      f'{_single(_label(dataset.get_data_info(i)))})'
                      for i in bad[:_SHOWN])
    if len(bad) > _SHOWN:
        shown += ', ...'
    text = (f'{len(bad)} of {len(dataset)} samples have a label outside '
            f'[0, {num_classes}): {shown}')
    if min(seen) == 1 and max(seen) == num_classes:
        text += (f' (the labels run from 1 to {num_classes}: they must '
                 'count from 0)')
    if -1 in seen:
        text += (' (mmaction2 gives a line without a label the label -1: '
                 'each line needs its label)')
    return text


def labels_short_of(dataset, num_classes: int) -> Optional[str]:
    """What the single labels of ``dataset`` hold, when their highest is
    below ``num_classes - 1``: the classes above it never train.

    Args:
        dataset: A fully built mmengine ``BaseDataset`` with an
            ``ann_file``; anything else, a dataset without single integer
            labels, and one that declares its classes (``metainfo``'s
            ``classes``, compared with the head by the ``ConfigCheckHook``)
            are not read.
        num_classes (int): The head's number of classes.

    Returns:
        str, optional: e.g. ``'the annotation file train.txt holds labels
        0 to 1 (2 classes at most)'``; None if its highest label is
        ``num_classes - 1`` or above.
    """
    from mmengine.dataset import BaseDataset
    ann_file = getattr(dataset, 'ann_file', None)
    if not isinstance(dataset, BaseDataset) or not ann_file or \
            not getattr(dataset, '_fully_initialized', False) or \
            (getattr(dataset, 'metainfo', None) or {}).get('classes'):
        return None
    labels = set()
    for index in range(len(dataset)):
        label = _single(_label(dataset.get_data_info(index)))
        if label is not None and label >= 0:
            labels.add(label)
    if not labels or max(labels) + 1 >= num_classes:
        return None
    return (f'the annotation file {ann_file} holds labels {min(labels)} to '
            f'{max(labels)} ({max(labels) + 1} classes at most, '
            f'{len(labels)} present)')


def _single(label) -> Optional[int]:
    """A single label as an int (MNIST's are 0-d int64 arrays); None for
    anything else, such as multi-label lists."""
    if isinstance(label, np.ndarray) and label.ndim == 0:
        label = label.item()
    if isinstance(label, bool) or not isinstance(label, numbers.Integral):
        return None
    return int(label)


def unlabelled(dataset) -> bool:
    """Whether every sample of ``dataset`` has mmaction2's placeholder
    label -1: an inference list, whose lines carry no label (SSv2's test
    set), which ``tools/test.py --dump`` may still run for predictions.

    Args:
        dataset: A fully built mmengine ``BaseDataset``.

    Returns:
        bool: True if it has samples and all their labels are -1.
    """
    labels = {
        _single(_label(dataset.get_data_info(i)))
        for i in range(len(dataset))
    }
    return labels == {-1}


def _label(info: dict):
    """The label of a sample: mmpretrain's ``gt_label`` or mmaction2's
    ``label``."""
    return info['gt_label'] if 'gt_label' in info else info.get('label')


def _image(dataset, index: int) -> str:
    info = dataset.get_data_info(index)
    return str(
        info.get('img_path') or info.get('filename') or info.get('frame_dir')
        or f'sample {index}')
