# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The Food-101 recipe's datasets: training skips a broken image,
evaluation stops at it, naming it; its runtime counts the skipped ones."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from broken_images import write_broken_images
from helpers import CONFIGS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS

from mmadaptformer.datasets import BrokenImageError
from mmadaptformer.datasets.training_refetch import SKIPPED_IMAGES_KEY

RECIPE = osp.join(CONFIGS, 'adaptformer_vitb_food101.py')


@pytest.fixture(scope='module')
def food_root(tmp_path_factory):
    """Food-101's layout: ``images/<class>/<name>.jpg``, annotation lists
    ``annotations/{train,test}.txt`` and ``meta/classes.txt`` (101
    names); one good and one unreadable image a list."""
    root = str(tmp_path_factory.mktemp('food'))
    names = [f'dish_{i}' for i in range(101)]
    os.makedirs(osp.join(root, 'meta'))
    with open(osp.join(root, 'meta', 'classes.txt'), 'w') as f:
        f.write(''.join(f'{n}\n' for n in names))
    folder = osp.join(root, 'images', 'dish_0')
    write_broken_images(folder)
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8)
    cv2.imwrite(osp.join(folder, 'good.jpg'), image)
    os.makedirs(osp.join(root, 'annotations'))
    for split in ('train', 'test'):
        with open(osp.join(root, 'annotations', f'{split}.txt'), 'w') as f:
            f.write('dish_0/text.jpg 0\ndish_0/good.jpg 0\n')
    return root


def _build(loader: str, root: str):
    cfg = Config.fromfile(RECIPE)
    dataset = cfg[loader]['dataset']
    dataset['data_root'] = root
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return DATASETS.build(dataset)


def test_recipe_counts_skipped_images():
    hooks = Config.fromfile(RECIPE).default_hooks
    assert hooks['data_health'] == dict(type='DataHealthHook')


def test_recipe_training_skips_a_broken_image(food_root, clean_loggers):
    dataset = _build('train_dataloader', food_root)
    data = dataset[0]
    assert data['data_samples'].img_path.endswith('good.jpg')
    assert tuple(data['inputs'].shape) == (3, 224, 224)
    # The random draw may meet the broken image again.
    skipped = data['data_samples'].metainfo[SKIPPED_IMAGES_KEY]
    assert skipped and set(skipped) == {
        osp.join(food_root, 'images', 'dish_0', 'text.jpg')
    }


@pytest.mark.parametrize('loader', ['val_dataloader', 'test_dataloader'])
def test_recipe_evaluation_stops_at_a_broken_image(food_root, loader):
    dataset = _build(loader, food_root)
    path = osp.join(food_root, 'images', 'dish_0', 'text.jpg')
    with pytest.raises(
            BrokenImageError,
            match=f'Cannot load {path} for '
            'evaluation: LoadImageFromFile'):
        dataset[0]
    assert tuple(dataset[1]['inputs'].shape) == (3, 224, 224)
