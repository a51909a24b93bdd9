# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A line of a video annotation list with more labels than its dataset
reads.

``'a.mp4 0 1'`` in a dataset without ``multi_class=True`` is a path and two
labels: a multi-label list, or a line with a label too many. It was named
as a line the ``delimiter`` does not split, as if the path held a space.
:func:`~mmadaptformer.utils.video_ann_file.extra_labels` tells the two
apart (the extra fields are integers and the first one is, or looks like, a
file; ``'my clip.mp4 0'`` keeps the delimiter's advice) and
:func:`multi_label` says it. Said the same way by
the tools' check of the config
(:func:`~mmadaptformer.utils.video_ann_file.malformed_video_list`) and by
``CheckedVideoDataset`` built from Python
(:func:`~mmadaptformer.datasets.video_list.parse_video_list`).
"""
from typing import Sequence

__all__ = ['multi_label']


def multi_label(where: str, labels: Sequence[str], dataset: str) -> str:
    """The problem of a line of
    :func:`~mmadaptformer.utils.video_ann_file.extra_labels`.

    Args:
        where (str): The line, e.g. ``"line 2 of val.txt, 'a.mp4 0 1',"``
            or ``"val.txt:2: the line 'a.mp4 0 1'"``.
        labels (Sequence[str]): The line's label fields.
        dataset (str): The dataset that reads it, e.g.
            ``'CheckedVideoDataset'``.

    Returns:
        str: What the line holds and the two ways out, with no full stop
        at its end.
    """
    return (f'{where} has {len(labels)} labels ({", ".join(labels)}), '
            f'but {dataset} reads one label per line (multi_class=False): '
            'for a multi-label list set multi_class=True on the dataset, '
            'with its num_classes (each video gets a target of num_classes '
            "entries); else fix the line to '<path> <label>'")
