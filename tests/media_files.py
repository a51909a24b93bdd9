# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Small real media files, for the tests that hand a tool or an API a
video or an image where another kind of file goes."""
import cv2
import numpy as np


def write_clip(path: str, num_frames: int = 12, size: int = 32) -> str:
    """A ``size x size`` MP4 (mp4v, 8 fps) of ``num_frames`` flat frames
    that brighten one by one; returns ``path``."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 8,
                             (size, size))
    for t in range(num_frames):
        writer.write(np.full((size, size, 3), 20 * t, np.uint8))
    writer.release()
    return path


def write_black_png(path: str) -> str:
    """An 8x8 black PNG; returns ``path``."""
    cv2.imwrite(path, np.zeros((8, 8, 3), np.uint8))
    return path
