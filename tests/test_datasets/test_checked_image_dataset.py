# Copyright (c) mmadaptformer contributors. All rights reserved.
"""CheckedImageDataset on real broken image files: training draws other
samples in their place, evaluation names them."""
import os.path as osp

import pytest
from broken_images import BROKEN_IMAGES, stripes_with_broken_images
from mmengine.registry import DefaultScope

from mmadaptformer.datasets import BrokenImageError, CheckedImageDataset
from mmadaptformer.datasets.training_refetch import SKIPPED_IMAGES_KEY
from mmadaptformer.utils.transform_steps import PipelineStepError

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]


@pytest.fixture(scope='module')
def broken_image_data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('broken_images'))
    return root, stripes_with_broken_images(root)


def _dataset(root, split='train', pipeline=PIPELINE, **kwargs):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return CheckedImageDataset(
            data_root=root, data_prefix=split, pipeline=pipeline, **kwargs)


def _index(dataset, path):
    return next(
        i for i in range(len(dataset))
        if dataset.get_data_info(i)['img_path'] == path)


@pytest.mark.parametrize('kind', sorted(BROKEN_IMAGES))
def test_training_draws_another_sample_for_a_broken_image(
        broken_image_data, kind, clean_loggers):
    root, broken = broken_image_data
    dataset = _dataset(root)
    bad = set(broken['train'].values())
    data = dataset[_index(dataset, broken['train'][kind])]
    sample = data['data_samples']
    assert sample.img_path not in bad
    assert tuple(data['inputs'].shape) == (3, 32, 32)
    skipped = sample.metainfo[SKIPPED_IMAGES_KEY]
    assert skipped[0] == broken['train'][kind]
    assert set(skipped) <= bad
    assert 'skipped_short_videos' not in sample.metainfo


def test_training_gives_up_after_max_refetch_naming_each_file(
        tmp_path, clean_loggers):
    from broken_images import write_broken_images
    broken = write_broken_images(str(tmp_path / 'train' / 'only'))
    dataset = _dataset(str(tmp_path), max_refetch=3)
    with pytest.raises(BrokenImageError) as err:
        dataset[0]
    message = str(err.value)
    assert 'CheckedImageDataset: 4 samples in a row of' in message
    assert 'max_refetch=3' in message
    assert f'{broken["empty"]}: BrokenImageError: ' in message
    assert 'the file is empty (0 bytes)' in message
    assert 'LoadImageFromFile (pipeline[0]) failed: AssertionError: ' \
        'failed to load image' in message


@pytest.mark.parametrize('kind, why', [
    ('text', 'failed to load image'),
    ('trunc_png', 'failed to load image'),
    ('empty', 'the file is empty (0 bytes)'),
])
def test_evaluation_names_the_broken_image(broken_image_data, kind, why):
    root, broken = broken_image_data
    dataset = _dataset(root, 'val', test_mode=True)
    path = broken['val'][kind]
    with pytest.raises(BrokenImageError) as err:
        dataset[_index(dataset, path)]
    message = str(err.value)
    assert message.startswith(f'Cannot load {path} for evaluation: ')
    assert why in message
    # One sentence each, no dangling colon before the advice.
    assert message.endswith(
        ' The file is not an image that can be decoded (empty, truncated, '
        'corrupt or another format). Replace it, or remove it from the '
        'dataset.'), message


def test_evaluation_names_a_transform_that_fails_after_reading(
        broken_image_data):
    root, _ = broken_image_data
    # A resize to 0 x 0: OpenCV raises on every image, after reading it.
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(0, 0)),
        dict(type='PackInputs'),
    ]
    dataset = _dataset(root, 'val', pipeline=pipeline, test_mode=True)
    good = osp.join(root, 'val', 'vertical', '0.png')
    with pytest.raises(PipelineStepError) as err:
        dataset[_index(dataset, good)]
    message = str(err.value)
    assert message.startswith(f'Cannot evaluate {good}: after it was read, '
                              "the test pipeline's Resize (pipeline[1]) "
                              'failed: error: OpenCV')
    assert 'Replace it' not in message


@pytest.mark.parametrize('value', [-1, 1.5, True])
def test_max_refetch_must_be_a_non_negative_int(broken_image_data, value):
    root, _ = broken_image_data
    with pytest.raises(
            ValueError,
            match=f'max_refetch must be an int >= 0, '
            f'got {value!r}'):
        _dataset(root, max_refetch=value)
