# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Write small real video files for tests, demos and benchmarks.

The files are encoded with OpenCV and read back by mmaction2's decord
pipeline exactly like downloaded datasets.
"""
import os
import os.path as osp
from typing import Dict, List, Sequence

import cv2
import numpy as np

# Container extension -> FourCC that OpenCV can write on a stock install.
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
        raise RuntimeError(f'OpenCV could not open a {FOURCC[ext]} writer '
                           f'for {path}')
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    if not osp.isfile(path) or osp.getsize(path) == 0:
        raise RuntimeError(f'OpenCV wrote no data to {path}')
    return path


def _moving_square(direction: int, num_frames: int, size: int,
                   rng: np.random.Generator) -> np.ndarray:
    """A square that crosses the frame horizontally in one direction."""
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    background = rng.integers(0, 80, size=3)
    color = rng.integers(150, 256, size=3)
    side = size // 4
    top = int(rng.integers(0, size - side))
    span = size - side
    start = int(rng.integers(0, max(1, span // 4)))
    for t in range(num_frames):
        progress = start + (span - start) * t / max(1, num_frames - 1)
        left = int(round(progress if direction > 0 else span - progress))
        frames[t] = background
        frames[t, top:top + side, left:left + side] = color
    return frames


def make_moving_square_dataset(root: str,
                               num_per_class: int = 4,
                               num_frames: int = 16,
                               size: int = 32,
                               ext: str = '.mp4',
                               seed: int = 0,
                               splits: Sequence[str] = ('train', 'val')
                               ) -> Dict[str, str]:
    """A two-class video dataset in mmaction2 ``VideoDataset`` format.

    Class 0: a square moves left to right; class 1: right to left. A single
    frame does not tell the classes apart.

    Args:
        root (str): Output folder. Videos go to ``root/videos``, annotation
            lists to ``root/{split}.txt`` (lines ``<file> <label>``).
        num_per_class (int): Videos per class and split. Defaults to 4.
        num_frames (int): Frames per video. Defaults to 16.
        size (int): Frame height and width. Defaults to 32.
        ext (str): Container, ``.mp4``, ``.webm`` or ``.avi``.
            Defaults to ``'.mp4'``.
        seed (int): Random seed. Defaults to 0.
        splits (Sequence[str]): Split names. Defaults to
            ``('train', 'val')``.

    Returns:
        dict: ``{split: annotation file path}`` and ``'videos'``: the video
        folder.
    """
    rng = np.random.default_rng(seed)
    video_dir = osp.join(root, 'videos')
    out = {'videos': video_dir}
    for split in splits:
        lines: List[str] = []
        for label, direction in enumerate((1, -1)):
            for i in range(num_per_class):
                name = f'{split}_{label}_{i}{ext}'
                write_video(
                    osp.join(video_dir, name),
                    _moving_square(direction, num_frames, size, rng))
                lines.append(f'{name} {label}')
        ann_file = osp.join(root, f'{split}.txt')
        with open(ann_file, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        out[split] = ann_file
    return out
