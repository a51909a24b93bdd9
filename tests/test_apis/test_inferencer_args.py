# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What ``ModelInferencer`` is told by its arguments reaches the answers
and the drawings: ``label_map=`` names the classes in the results,
``show_topk=`` the classes drawn."""
import os

import cv2
import pytest
from drawn_frames import gray_frames
from helpers import (TINY_IMAGE_CONFIG, image_data_cfg,
                     save_as_built_checkpoint, write_config)

from mmadaptformer.apis import ModelInferencer


@pytest.fixture(scope='module')
def image_model(tmp_path_factory, tiny_image_data):
    """A tiny image config whose test set names its classes by its folders,
    a checkpoint of it and one image."""
    root = tmp_path_factory.mktemp('inferencer_args')
    config = write_config(root / 'stripes.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    checkpoint = save_as_built_checkpoint(config, root / 'image.pth')
    image = str(root / 'in' / 'photo.jpg')
    os.makedirs(os.path.dirname(image))
    cv2.imwrite(image, gray_frames(1)[0])
    return dict(config=config, checkpoint=checkpoint, image=image, root=root)


def test_the_label_map_argument_names_the_classes_of_the_results(
        image_model, clean_loggers):
    labels = image_model['root'] / 'names.txt'
    labels.write_text('first stripe\nsecond stripe\n')
    stock = ModelInferencer(image_model['config'], image_model['checkpoint'])
    named = ModelInferencer(
        image_model['config'],
        image_model['checkpoint'],
        label_map=str(labels))
    assert stock.classes != named.classes
    assert named.classes == ['first stripe', 'second stripe']
    image = image_model['image']
    answer = named([image])[image]['stripes']
    assert answer['class'] == named.classes[answer['label']]
    assert answer['scores'] == stock([image])[image]['stripes']['scores']


def test_show_topk_is_the_number_of_classes_drawn(image_model, tmp_path,
                                                  clean_loggers):
    """Of two classes, one drawn is another picture than two; two and three
    (all there are) draw the same."""
    inferencer = ModelInferencer(image_model['config'],
                                 image_model['checkpoint'])
    image = image_model['image']
    drawn = {}
    for k in (1, 2, 3):
        inferencer([image], show_dir=str(tmp_path / str(k)), show_topk=k)
        drawn[k] = cv2.imread(str(tmp_path / str(k) / 'photo.png'))
    assert (drawn[2] == drawn[3]).all()
    assert (drawn[1] != drawn[2]).any()
