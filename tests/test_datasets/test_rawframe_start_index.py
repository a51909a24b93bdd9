# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A frame list read with ``start_index=0`` (mmaction2's default for some
frame extractors) on frames counted from 1 names ``start_index`` and the
value to set; before, it was refused as a ``filename_tmpl`` that names no
frame, though the template was right."""
import cv2
import numpy as np
import pytest
from rawframe_configs import rawframe_train_cfg

from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.dataloader_check import check_dataloaders

SOURCE = 'cfg.py'


def _frames(root) -> None:
    """``rawframes/vid_0``, 6 jpgs from ``img_00001.jpg``, and its list."""
    folder = root / 'rawframes' / 'vid_0'
    folder.mkdir(parents=True)
    for index in range(1, 7):
        cv2.imwrite(
            str(folder / f'img_{index:05}.jpg'),
            np.full((8, 8, 3), index * 30, np.uint8))
    (root / 'train.txt').write_text('vid_0 6 0\n')


def _cfg(root, **dataset):
    return rawframe_train_cfg(root / 'train.txt', root / 'rawframes',
                              **dataset)


def test_start_index_below_the_first_frame_names_start_index(tmp_path):
    _frames(tmp_path)
    with pytest.raises(ConfigError) as info:
        check_dataloaders(
            _cfg(tmp_path, start_index=0), SOURCE, ['train_dataloader'])
    assert str(info.value) == (
        f'{SOURCE}: train_dataloader.dataset.start_index (RawframeDataset): '
        f"line 1 of {tmp_path}/train.txt, 'vid_0 6 0', names the frames of "
        f'{tmp_path}/rawframes/vid_0 from img_00000.jpg (start_index=0), '
        'but they start at img_00001.jpg: set start_index=1.')
    # As the message says.
    check_dataloaders(
        _cfg(tmp_path, start_index=1), SOURCE, ['train_dataloader'])
