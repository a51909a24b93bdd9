# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An AVI's RIFF header declares its size without the 8 bytes of the
``RIFF`` id and the size field: a file shorter than that size + 8 is
truncated, however few bytes it lacks."""
import numpy as np
import pytest

from mmadaptformer.testing import write_video
from mmadaptformer.utils.video_containers import (BrokenVideoError,
                                                  check_container)


def test_an_avi_missing_its_last_bytes_is_truncated(tmp_path):
    """Guards against comparing the RIFF size without its 8-byte header
    (``_check_riff``): an AVI cut by up to 8 bytes passed."""
    frames = np.random.default_rng(0).integers(
        0, 256, (4, 32, 32, 3), dtype=np.uint8)
    path = write_video(str(tmp_path / 'a.avi'), frames)
    check_container(path)  # whole
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:4] == b'RIFF'
    cut = tmp_path / 'cut.avi'
    cut.write_bytes(data[:-4])
    with pytest.raises(BrokenVideoError) as info:
        check_container(str(cut))
    assert str(info.value) == (
        f'{cut}: truncated RIFF/AVI file: the header declares {len(data)} '
        f'bytes, the file has {len(data) - 4}')
