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

Each check reads every sample's label: :func:`sample_labels` reads them
once, for all of them.
"""
import numbers
from typing import NamedTuple, Optional

import numpy as np

__all__ = [
    'SampleLabels', 'sample_labels', 'labels_out_of_range', 'labels_short_of',
    'unlabelled'
]

# How many samples at fault an error spells out.
_SHOWN = 3


class SampleLabels(NamedTuple):
    """The single integer labels of a dataset's samples, read once
    (:func:`sample_labels`) for the checks that each read them all.

    Attributes:
        indices (np.ndarray): The samples that have a single label, in
            order (int64).
        labels (np.ndarray): Their labels (int64).
        total (int): The number of samples, ``len(dataset)``.
    """
    indices: np.ndarray
    labels: np.ndarray
    total: int


def sample_labels(dataset) -> Optional[SampleLabels]:
    """Read the single labels (``gt_label``, as mmpretrain's datasets give
    them, or ``label``, as mmaction2's do) of every sample of ``dataset``,
    in one pass: about 0.45 s of CPU for SSv2's 168,913 lines.

    Args:
        dataset: A fully built mmengine ``BaseDataset``.

    Returns:
        SampleLabels, optional: None for anything else (a lazily built
        dataset holds no samples yet).
    """
    from mmengine.dataset import BaseDataset
    if not isinstance(dataset, BaseDataset) or \
            not getattr(dataset, '_fully_initialized', False):
        return None
    indices, labels = [], []
    for index in range(len(dataset)):
        label = _single(_label(dataset.get_data_info(index)))
        if label is not None:
            indices.append(index)
            labels.append(label)
    return SampleLabels(
        np.asarray(indices, dtype=np.int64),
        np.asarray(labels, dtype=np.int64), len(dataset))


def labels_out_of_range(
        dataset,
        num_classes: int,
        labels: Optional[SampleLabels] = None) -> Optional[str]:
    """What is outside ``[0, num_classes)`` among the single labels of
    ``dataset``.

    Args:
        dataset: A fully built mmengine ``BaseDataset``; anything else,
            and samples without a single integer label (multi-label),
            are not checked.
        num_classes (int): The head's number of classes.
        labels (SampleLabels, optional): The dataset's labels, as
            :func:`sample_labels` read them. Defaults to None: read here.

    Returns:
        str, optional: e.g. ``'12 of 36 samples have a label outside [0,
        3): train/eel/0.png (label 3), ... (the labels run from 1 to 3:
        they must count from 0)'``; None if every label is in range.
    """
    if labels is None:
        labels = sample_labels(dataset)
    if labels is None:
        return None
    outside = (labels.labels < 0) | (labels.labels >= num_classes)
    if not outside.any():
        return None
    bad, bad_labels = labels.indices[outside], labels.labels[outside]
    shown = ', '.join(f'{_image(dataset, int(index))} (label {label})'
                      for index, label in zip(bad[:_SHOWN], bad_labels))
    if len(bad) > _SHOWN:
        shown += ', ...'
    text = (f'{len(bad)} of {labels.total} samples have a label outside '
            f'[0, {num_classes}): {shown}')
    if labels.labels.min() == 1 and labels.labels.max() == num_classes:
        text += (f' (the labels run from 1 to {num_classes}: they must '
                 'count from 0)')
    if (labels.labels == -1).any():
        text += (' (mmaction2 gives a line without a label the label -1: '
                 'each line needs its label)')
    return text


def labels_short_of(dataset,
                    num_classes: int,
                    labels: Optional[SampleLabels] = None) -> Optional[str]:
    """What the single labels of ``dataset`` hold, when their highest is
    below ``num_classes - 1``: the classes above it never train.

    Args:
        dataset: A fully built mmengine ``BaseDataset`` with an
            ``ann_file``; anything else, a dataset without single integer
            labels, and one that declares its classes (``metainfo``'s
            ``classes``, compared with the head by the ``ConfigCheckHook``)
            are not read.
        num_classes (int): The head's number of classes.
        labels (SampleLabels, optional): The dataset's labels, as
            :func:`sample_labels` read them. Defaults to None: read here.

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
    if labels is None:
        labels = sample_labels(dataset)
    present = labels.labels[labels.labels >= 0] if labels is not None \
        else np.empty(0, dtype=np.int64)
    if not present.size or present.max() + 1 >= num_classes:
        return None
    low, high = int(present.min()), int(present.max())
    return (f'the annotation file {ann_file} holds labels {low} to {high} '
            f'({high + 1} classes at most, {len(np.unique(present))} '
            'present)')


def _single(label) -> Optional[int]:
    """A single label as an int (MNIST's are 0-d int64 arrays); None for
    anything else, such as multi-label lists."""
    if isinstance(label, np.ndarray) and label.ndim == 0:
        label = label.item()
    if isinstance(label, bool) or not isinstance(label, numbers.Integral):
        return None
    return int(label)


def unlabelled(dataset, labels: Optional[SampleLabels] = None) -> bool:
    """Whether every sample of ``dataset`` has mmaction2's placeholder
    label -1: an inference list, whose lines carry no label (SSv2's test
    set), which ``tools/test.py --dump`` may still run for predictions.

    Args:
        dataset: A fully built mmengine ``BaseDataset``.
        labels (SampleLabels, optional): The dataset's labels, as
            :func:`sample_labels` read them. Defaults to None: read here.

    Returns:
        bool: True if it has samples and all their labels are -1.
    """
    if labels is None:
        labels = sample_labels(dataset)
    return labels is not None and labels.total > 0 and \
        len(labels.indices) == labels.total and \
        bool((labels.labels == -1).all())


def _label(info: dict):
    """The label of a sample: mmpretrain's ``gt_label`` or mmaction2's
    ``label``."""
    return info['gt_label'] if 'gt_label' in info else info.get('label')


def _image(dataset, index: int) -> str:
    info = dataset.get_data_info(index)
    return str(
        info.get('img_path') or info.get('filename') or info.get('frame_dir')
        or f'sample {index}')
