# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What is wrong with a line of a video annotation list that has no label.

A line of one field, ``'val_0_0.mp4'``, that no other delimiter splits:
a list without labels (SSv2's test set), or a line that lost its label.
Said the same way by the tools' check of the config
(:func:`~mmadaptformer.utils.video_ann_file.malformed_video_list`) and by
``CheckedVideoDataset`` built from Python
(:func:`~mmadaptformer.datasets.video_list.parse_video_list`).
"""

__all__ = ['missing_label']


def missing_label(where: str, expected: str, dataset: str) -> str:
    """The problem of a line without a label.

    Args:
        where (str): The line, e.g. ``"line 2 of val.txt, 'a.mp4',"`` or
            ``"val.txt:2: the line 'a.mp4'"``.
        expected (str): What a line holds, e.g. ``'<path> <label>'``.
        dataset (str): The dataset that needs the label, e.g.
            ``'CheckedVideoDataset'``.

    Returns:
        str: E.g. ``"line 2 of val.txt, 'a.mp4', has no label:
        CheckedVideoDataset needs '<path> <label>' on every line. ..."``,
        with no full stop at its end.
    """
    return (f'{where} has no label: {dataset} needs {expected!r} on '
            'every line. A list without labels (its predictions alone) '
            "is tested with mmaction2's VideoDataset, which reads the "
            'label -1')
