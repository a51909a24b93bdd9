# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Labels outside the head's classes are found in a built image dataset,
whatever type mmpretrain gives them."""
import numpy as np
from mmengine.dataset import BaseDataset
from mmpretrain.datasets import CustomDataset

from mmadaptformer.datasets.image_label_range import labels_out_of_range


class _ArrayLabels(BaseDataset):
    """Labels as mmpretrain's MNIST gives them: 0-d int64 arrays."""

    def load_data_list(self):
        return [
            dict(img=np.zeros((2, 2)), gt_label=np.array(label))
            for label in (0, 1, 2, 1)
        ]


def test_labels_counted_from_one_are_named(tmp_path):
    ann_file = tmp_path / 'list.txt'
    ann_file.write_text('a.png 1\nb.png 2\nc.png 3\n')
    dataset = CustomDataset(data_root=str(tmp_path), ann_file=str(ann_file))
    assert labels_out_of_range(dataset, 3) == (
        f'1 of 3 samples have a label outside [0, 3): {tmp_path}/c.png '
        '(label 3) (the labels run from 1 to 3: they must count from 0)')
    assert labels_out_of_range(dataset, 4) is None


def test_array_labels_and_unlabelled_samples():
    dataset = _ArrayLabels()
    assert labels_out_of_range(dataset, 3) is None
    assert labels_out_of_range(dataset, 2) == (
        '1 of 4 samples have a label outside [0, 2): sample 2 (label 2)')
    # Not built yet: nothing to read.
    assert labels_out_of_range(_ArrayLabels(lazy_init=True), 2) is None
