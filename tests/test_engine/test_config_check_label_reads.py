# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The ``ConfigCheckHook`` reads each sample's label once.

Its label checks (labels outside the head's classes, fewer labels than
classes, a list without labels) each read every sample: a training list
that declares no class names was read twice at ``before_train``, and a
test list without labels twice at ``before_test``; measured on an
SSv2-sized list (168,913 lines), 0.89 s of CPU where one read takes
0.45 s."""
from types import SimpleNamespace

import pytest
from mmengine.dataset import BaseDataset
from torch import nn

from mmadaptformer.engine import ConfigCheckHook


class _CountedReads(BaseDataset):
    """A list of ``labels``, counting the reads of each sample."""

    def __init__(self, labels, **kwargs):
        self._labels = labels
        self.reads = {}
        super().__init__(ann_file='list.txt', **kwargs)

    def load_data_list(self):
        return [
            dict(filename=f'{i}.mp4', label=label)
            for i, label in enumerate(self._labels)
        ]

    def get_data_info(self, idx):
        self.reads[idx] = self.reads.get(idx, 0) + 1
        return super().get_data_info(idx)


def _runner(dataset, **loaders):
    model = nn.Module()
    model.cls_head = SimpleNamespace(num_classes=4)
    return SimpleNamespace(
        model=model,
        cfg=None,
        hooks=[],
        val_loop=None,
        **{key: SimpleNamespace(dataset=dataset)
           for key in loaders})


def test_a_training_list_is_read_once(clean_loggers):
    """Labels 0-1 under a head of 4 classes: warned of, and checked for
    range, on one read."""
    dataset = _CountedReads([0, 1, 1, 0])
    ConfigCheckHook().before_train(_runner(dataset, train_dataloader=True))
    assert dataset.reads == {0: 1, 1: 1, 2: 1, 3: 1}


def test_a_test_list_without_labels_is_read_once(clean_loggers):
    """Its labels (all -1, mmaction2's placeholder) are outside the
    classes, and it is tested for its predictions: warned of, on one
    read."""
    dataset = _CountedReads([-1] * 5, test_mode=True)
    ConfigCheckHook().before_test(_runner(dataset, test_dataloader=True))
    assert dataset.reads == dict.fromkeys(range(5), 1)


@pytest.mark.parametrize('labels, message', [
    ([1, 2, 3, 4], '1 of 4 samples have a label outside [0, 4): 3.mp4 '
     '(label 4) (the labels run from 1 to 4: they must count from 0)'),
    ([0, -1, 2], '1 of 3 samples have a label outside [0, 4): 1.mp4 '
     '(label -1) (mmaction2 gives a line without a label the label -1: '
     'each line needs its label)'),
])
def test_labels_outside_the_classes_are_still_named(clean_loggers, labels,
                                                    message):
    """Guard of kept behaviour: the refusal from the labels read once."""
    from mmadaptformer.utils import ConfigError
    dataset = _CountedReads(labels)
    with pytest.raises(ConfigError) as info:
        ConfigCheckHook().before_train(_runner(dataset, train_dataloader=True))
    assert f'train_dataloader.dataset (_CountedReads, ann_file list.txt): ' \
        f'{message}, but model.cls_head.num_classes=4. A label is the ' \
        "class's index, from 0." == str(info.value)
