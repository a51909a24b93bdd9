# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Write the good and broken video files of the ``video_files`` fixture
into ``ROOT`` (``python3 tests/video_files_writer.py ROOT``).

The fixture runs this in a process of its own: OpenCV's VP9 writer could
not be opened in a test process that had already decoded videos with
decord (``tests/test_datasets/test_short_video_bound.py`` and then
``test_image_named_video.py`` in one process failed so), and a session
fixture is built by whichever test of a worker asks first. The writer is
loaded by its path, so this process imports OpenCV and numpy alone.
"""
import importlib.util
import os
import os.path as osp
import sys

import numpy as np
from broken_videos import BROKEN

WRITER = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'mmadaptformer', 'utils',
    'video_writer.py')


def _frames(num: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(
        0, 256, (num, size, size, 3), dtype=np.uint8)


def write_video_files(root: str) -> None:
    """Write the files :func:`conftest.video_files` describes."""
    spec = importlib.util.spec_from_file_location('video_writer', WRITER)
    writer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(writer)
    write_video = writer.write_video
    videos = osp.join(root, 'videos')
    for i in range(4):
        write_video(osp.join(videos, f'good_{i}.mp4'), _frames(16, 32, i))
    # decord cannot read VP9 webm under 64 pixels wide.
    for ext in ('.webm', '.avi'):
        real = write_video(osp.join(root, f'real{ext}'), _frames(16, 64, 7))
        with open(real, 'rb') as f:
            data = f.read()
        with open(osp.join(videos, f'trunc{ext}'), 'wb') as f:
            f.write(data[:int(len(data) * 0.3)])
    with open(osp.join(videos, BROKEN['text']), 'w') as f:
        f.write('not a video\n' * 20)
    open(osp.join(videos, BROKEN['empty']), 'wb').close()
    write_video(osp.join(videos, BROKEN['zero_frames']), _frames(0, 32, 0))
    write_video(osp.join(videos, 'short.mp4'), _frames(1, 32, 8))
    with open(
            write_video(osp.join(root, 'real.mp4'), _frames(16, 32, 9)),
            'rb') as f:
        damaged = bytearray(f.read())
    third = len(damaged) // 3
    damaged[third:2 * third] = b'\xff' * third
    with open(osp.join(videos, 'damaged.mp4'), 'wb') as f:
        f.write(bytes(damaged))


if __name__ == '__main__':
    os.makedirs(osp.join(sys.argv[1], 'videos'), exist_ok=True)
    write_video_files(sys.argv[1])
