# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Broken image files next to real ones, for the image dataset tests."""
import os
import os.path as osp
from typing import Dict

import cv2
import numpy as np

from mmadaptformer.testing import make_stripes_dataset

#: Kinds of broken files, by the name they get in a class folder.
BROKEN_IMAGES = {
    'text': 'text.jpg',  # a text file named .jpg
    'trunc_jpg': 'trunc.jpg',  # the first half of a real JPEG
    'trunc_png': 'trunc.png',  # the first half of a real PNG
    'empty': 'empty.png',  # zero bytes
}


def write_broken_images(folder: str) -> Dict[str, str]:
    """Write each kind of :data:`BROKEN_IMAGES` into ``folder``.

    Returns:
        dict: ``{kind: path}``.
    """
    os.makedirs(folder, exist_ok=True)
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8)
    paths = {
        kind: osp.join(folder, name)
        for kind, name in BROKEN_IMAGES.items()
    }
    for kind, ext in (('trunc_jpg', '.jpg'), ('trunc_png', '.png')):
        ok, data = cv2.imencode(ext, image)
        assert ok, ext
        with open(paths[kind], 'wb') as f:
            f.write(data.tobytes()[:len(data) // 2])
    with open(paths['text'], 'w') as f:
        f.write('not an image\n' * 20)
    open(paths['empty'], 'wb').close()
    return paths


def stripes_with_broken_images(root: str) -> Dict[str, Dict[str, str]]:
    """A two-class stripes dataset (``root/{train,val}/<class>/``, 4
    images each) with the broken kinds added to ``horizontal`` of both
    splits.

    Returns:
        dict: ``{split: {kind: path}}`` of the broken files.
    """
    make_stripes_dataset(root, num_per_class=4)
    return {
        split: write_broken_images(osp.join(root, split, 'horizontal'))
        for split in ('train', 'val')
    }
