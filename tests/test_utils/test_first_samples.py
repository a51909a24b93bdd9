# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A transform that fails on every sample it is tried on is refused before
the Runner; one that fails on some samples only, or a file that cannot be
read, is left to the dataset."""
import os

import pytest
from mmcv.transforms import BaseTransform
from mmengine.dataset import ConcatDataset, RepeatDataset
from mmpretrain.datasets import CustomDataset
from mmpretrain.datasets.transforms import Cutout

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.first_samples import (always_applied,
                                               check_first_samples,
                                               pipelined_dataset)


class FailsOn(BaseTransform):
    """Raises on the images whose path holds ``part``."""

    def __init__(self, part: str) -> None:
        self.part = part

    def transform(self, results: dict) -> dict:
        if self.part in results['img_path']:
            raise ValueError(f'no {self.part}')
        return results


def _dataset(root: str, *transforms) -> CustomDataset:
    return CustomDataset(
        data_root=root,
        data_prefix='train',
        pipeline=[
            dict(type='LoadImageFromFile'), *transforms,
            dict(type='PackInputs')
        ])


def test_cutout_with_a_pad_val_beyond_uint8_is_refused(tiny_image_data):
    dataset = _dataset(tiny_image_data,
                       dict(type='Cutout', shape=8, pad_val=300))
    first = dataset.get_data_info(0)['img_path']
    last = dataset.get_data_info(len(dataset) - 1)['img_path']
    with pytest.raises(ConfigError) as info:
        check_first_samples({'train_dataloader': dataset},
                            ['train_dataloader'], 'cfg.py')
    assert str(info.value) == (
        'cfg.py: train_dataloader.dataset.pipeline[1]: Cutout failed on '
        'each of the 2 samples of train_dataloader it was tried on '
        f'({first}, {last}), with prob=1.0 where the run applies it with '
        'prob=0.5, after the file was read: OverflowError: Python integer '
        "300 out of bounds for uint8. Check that transform's settings and "
        'those of the ones before it.')


def test_the_option_that_set_it_is_named(tiny_image_data):
    dataset = _dataset(tiny_image_data,
                       dict(type='Cutout', shape=8, pad_val=300, prob=1.0))
    with pytest.raises(
            ConfigError,
            match=r'^--cfg-options train_dataloader\.dataset\.pipeline\.1\.'
            r'pad_val=300: Cutout failed on each of the 2 samples of '
            r'train_dataloader it was tried on \([^)]*\) after the file'):
        check_first_samples(
            {'train_dataloader': dataset}, ['train_dataloader'], 'cfg.py',
            {'train_dataloader.dataset.pipeline.1.pad_val': 300})


def test_one_sample_that_goes_through_passes_the_settings(tiny_image_data):
    # The first image (horizontal/) fails, the last (vertical/) does not:
    # the image's, not the settings'.
    dataset = _dataset(tiny_image_data, FailsOn('horizontal'))
    check_first_samples({'val_dataloader': dataset}, ['val_dataloader'],
                        'cfg.py')
    # Only the first is tried when it goes through.
    dataset = _dataset(tiny_image_data, FailsOn('vertical'))
    check_first_samples({'val_dataloader': dataset}, ['val_dataloader'],
                        'cfg.py')


def test_a_file_that_cannot_be_read_is_the_datasets(tiny_image_data, tmp_path):
    root = tmp_path / 'broken'
    for label in ('a', 'b'):
        os.makedirs(root / 'train' / label)
        (root / 'train' / label / '0.png').write_bytes(b'not a png')
    check_first_samples(
        {'train_dataloader': _dataset(str(root), FailsOn('train'))},
        ['train_dataloader'], 'cfg.py')


def test_wrapped_datasets_are_named_by_their_key(tiny_image_data):
    inner = _dataset(tiny_image_data)
    assert pipelined_dataset(RepeatDataset(inner, times=2), 'l.dataset') \
        == (inner, 'l.dataset.dataset')
    assert pipelined_dataset(
        ConcatDataset([inner, _dataset(tiny_image_data)]),
        'l.dataset') == (inner, 'l.dataset.datasets[0]')
    assert pipelined_dataset(None, 'l.dataset') == (None, 'l.dataset')
    with pytest.raises(
            ConfigError,
            match=r'^cfg\.py: l\.dataset\.dataset\.pipeline\[1\]: '
            r'FailsOn failed'):
        check_first_samples(
            {
                'l':
                RepeatDataset(
                    _dataset(tiny_image_data, FailsOn('train')), times=2)
            }, ['l'], 'cfg.py')


def test_random_transforms_are_tried_always_on_copies():
    cutout = Cutout(shape=8, prob=0.3)
    certain = Cutout(shape=8, prob=1.0)
    never = Cutout(shape=8, prob=0.0)
    always, probs = always_applied([cutout, certain, never])
    assert probs == {0: 0.3}
    assert always[0] is not cutout and always[0].prob == 1.0
    assert cutout.prob == 0.3
    assert always[1] is certain and always[2] is never
