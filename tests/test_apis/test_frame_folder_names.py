# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A clip folder's frames are the files ``filename_tmpl`` names: a file
that only looks like one (``img_5.jpg`` for ``'img_{:05}.jpg'``) is no
frame ``RawFrameDecode`` would read."""
import cv2
import numpy as np
import pytest

from mmadaptformer.apis.frame_folders import FrameFolders
from mmadaptformer.apis.infer_files import OtherKindInputError


def _write(folder, names):
    folder.mkdir(parents=True)
    for name in names:
        cv2.imwrite(str(folder / name), np.zeros((8, 8, 3), np.uint8))
    return str(folder)


def test_frames_named_otherwise_than_the_template_are_not_counted(tmp_path):
    """Guards against dropping the round trip ``frame_name(index) == name``
    (frame_folders.py ``_indices``): ``img_5.jpg`` was counted as frame 5,
    which ``RawFrameDecode`` then read as the missing ``img_00005.jpg``."""
    naming = FrameFolders()  # RawframeDataset's 'img_{:05}.jpg' from 1
    mixed = _write(tmp_path / 'mixed',
                   [f'img_{i:05}.jpg' for i in range(1, 5)] + ['img_5.jpg'])
    assert naming.count(mixed) == 4
    unpadded = _write(tmp_path / 'unpadded',
                      [f'img_{i}.jpg' for i in range(1, 11)])
    assert not naming.holds_frames(unpadded)
    with pytest.raises(OtherKindInputError) as info:
        naming.count(unpadded)
    assert str(info.value).startswith(
        f'{unpadded}: holds no frames named as filename_tmpl '
        "'img_{:05}.jpg' from the test dataset, start_index 1 gives them "
        '(expected img_00001.jpg, ...).')
