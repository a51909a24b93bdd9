# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Real good and broken video files for the dataset tests."""
import logging
from typing import Dict, List

import numpy as np
import pytest
from broken_videos import BROKEN


def _frames(num: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(
        0, 256, (num, size, size, 3), dtype=np.uint8)


@pytest.fixture(scope='session')
def video_files(tmp_path_factory) -> Dict[str, str]:
    """A folder of real videos: four good mp4 files, the broken kinds of
    ``BROKEN``, ``short.mp4`` (one frame, fewer than a clip spans, but
    sound) and ``damaged.mp4`` (16 frames in its header; the middle third
    of its bytes overwritten, so some frames do not decode).

    Returns:
        dict: ``'videos'``: the folder; ``'good'``: the good names;
        each kind of ``BROKEN``, ``'short'`` and ``'damaged'``: its name.
    """
    from mmadaptformer.testing import write_video
    root = tmp_path_factory.mktemp('checked_videos')
    videos = root / 'videos'
    out = {'videos': str(videos), 'good': []}
    for i in range(4):
        name = f'good_{i}.mp4'
        write_video(str(videos / name), _frames(16, 32, i))
        out['good'].append(name)
    # decord cannot read VP9 webm under 64 pixels wide.
    for ext in ('.webm', '.avi'):
        real = write_video(str(root / f'real{ext}'), _frames(16, 64, 7))
        with open(real, 'rb') as f:
            data = f.read()
        (videos / f'trunc{ext}').write_bytes(data[:int(len(data) * 0.3)])
    (videos / BROKEN['text']).write_text('not a video\n' * 20)
    (videos / BROKEN['empty']).write_bytes(b'')
    write_video(str(videos / BROKEN['zero_frames']), _frames(0, 32, 0))
    write_video(str(videos / 'short.mp4'), _frames(1, 32, 8))
    damaged = bytearray(
        open(write_video(str(root / 'real.mp4'), _frames(16, 32, 9)),
             'rb').read())
    third = len(damaged) // 3
    damaged[third:2 * third] = b'\xff' * third
    (videos / 'damaged.mp4').write_bytes(bytes(damaged))
    out.update(BROKEN, short='short.mp4', damaged='damaged.mp4')
    return out


@pytest.fixture
def log_records(clean_loggers) -> List[logging.LogRecord]:
    """Records logged through ``print_log(logger='current')``."""
    from mmengine.logging import MMLogger
    records: List[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    MMLogger.get_instance('test_datasets').addHandler(handler)
    return records
