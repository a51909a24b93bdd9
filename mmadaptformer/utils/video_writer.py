# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Encode frames into a video file with OpenCV.

The files are read back by mmaction2's decord pipeline exactly like
downloaded datasets. The synthetic datasets of the demo and the test
fixtures of :mod:`mmadaptformer.testing` both write through here.
"""
import os
import os.path as osp
import sys
from typing import Dict

import cv2
import numpy as np

__all__ = ['FOURCC', 'write_video']

#: Container extension -> FourCC that OpenCV can write on a stock install.
FOURCC: Dict[str, str] = {'.mp4': 'mp4v', '.webm': 'VP90', '.avi': 'MJPG'}


def write_video(path: str, frames: np.ndarray, fps: int = 8) -> str:
    """Encode RGB frames into a video file.

    Args:
        path (str): Output file; its extension (``.mp4``, ``.webm`` or
            ``.avi``) selects the codec.
        frames (np.ndarray): ``(T, H, W, 3)`` uint8 RGB frames.
        fps (int): Frames per second. Defaults to 8.

    Returns:
        str: ``path``.
    """
    ext = osp.splitext(path)[1].lower()
    if ext not in FOURCC:
        raise ValueError(f'Cannot write {path}: extension {ext!r} is not one '
                         f'of {sorted(FOURCC)}')
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f'frames must be (T, H, W, 3) uint8, got shape '
                         f'{frames.shape} and dtype {frames.dtype}')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*FOURCC[ext]), fps,
                             (width, height))
    if not writer.isOpened():
        why = ''
        if 'decord' in sys.modules:
            # Seen with VP90 (.webm): decord's bundled FFmpeg libraries,
            # loaded first, stand in for OpenCV's.
            why = (' decord was imported before this process first wrote a '
                   'video, which breaks some of OpenCV\'s writers: write the '
                   'videos before importing decord (or mmaction2\'s '
                   'decord transforms), or in another process.')
        raise RuntimeError(f'OpenCV could not open a {FOURCC[ext]} writer '
                           f'for {path}.{why}')
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    if not osp.isfile(path) or osp.getsize(path) == 0:
        raise RuntimeError(f'OpenCV wrote no data to {path}')
    return path
