# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The pre-run check of a rawframe list with offsets
(``RawframeDataset(with_offset=True)``, lines ``<frame_dir> <offset>
<total_frames> <label>``) checks the frames ``RawFrameDecode`` reads:
``start_index + offset`` to ``start_index + offset + total_frames - 1``."""
import cv2
import numpy as np
import pytest
from rawframe_configs import rawframe_train_cfg

from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.dataloader_check import check_dataloaders

SOURCE = 'cfg.py'


def _frames(root, name, indices):
    folder = root / 'rawframes' / name
    folder.mkdir(parents=True)
    for index in indices:
        cv2.imwrite(
            str(folder / f'img_{index:05}.jpg'),
            np.full((8, 8, 3), index * 10, np.uint8))


def _check(root, lines):
    (root / 'list.txt').write_text(lines)
    cfg = rawframe_train_cfg(
        root / 'list.txt', root / 'rawframes', with_offset=True)
    check_dataloaders(cfg, SOURCE, ['train_dataloader'])


def test_the_offset_moves_the_frames_that_are_checked(tmp_path):
    """Guards against the check ignoring the offset (``first =
    dataset.start_index``, rawframe_ann_file.py), which refused frames
    that start after the offset and passed a list whose last frames are
    missing."""
    # Frames 11..14 of a longer video: offset 10 from start_index 1.
    _frames(tmp_path, 'late', range(11, 15))
    _check(tmp_path, 'late 10 4 0\n')
    # Frames 1..6; offset 2 and 5 frames reads 3..7, and 7 is missing.
    _frames(tmp_path, 'short', range(1, 7))
    with pytest.raises(ConfigError) as info:
        _check(tmp_path, 'short 2 5 0\n')
    assert (f"line 1 of {tmp_path}/list.txt, 'short 2 5 0', says "
            f'{tmp_path}/rawframes/short holds 5 frames, img_00003.jpg to '
            'img_00007.jpg, but only the first 4 are there') in str(info.value)


def test_a_short_clip_with_an_offset_is_blamed_on_its_line(tmp_path):
    """Frames 1..6, a line with offset 2 and 5 frames (3..7): its count
    is wrong, the list's mistake (``ann_file``); the check named
    ``start_index`` and asked for start_index=0, which would move every
    line's frames one back."""
    _frames(tmp_path, 'short', range(1, 7))
    with pytest.raises(ConfigError) as info:
        _check(tmp_path, 'short 2 5 0\n')
    assert str(info.value).startswith(
        f'{SOURCE}: train_dataloader.dataset.ann_file (RawframeDataset)')
    assert 'set start_index=0' not in str(info.value)
