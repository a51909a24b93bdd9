# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Write small real video files for tests, demos and benchmarks.

The files are encoded with OpenCV and read back by mmaction2's decord
pipeline exactly like downloaded datasets.
"""
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np

from mmadaptformer.utils.video_writer import FOURCC, write_video

__all__ = [
    'FOURCC', 'make_moving_square_dataset', 'moving_square', 'write_ann_file',
    'write_video'
]


def moving_square(direction: int, num_frames: int, size: int,
                  rng: np.random.Generator) -> np.ndarray:
    """A square that crosses the frame horizontally in one direction.

    Args:
        direction (int): 1 moves it left to right, -1 right to left.
        num_frames (int): Frames of the clip.
        size (int): Frame height and width.
        rng (np.random.Generator): Draws the colours and the start.

    Returns:
        np.ndarray: ``num_frames x size x size x 3`` ``uint8`` RGB frames.
    """
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


def write_ann_file(root: str, split: str, lines: List[str]) -> str:
    """Write the annotation list ``root/{split}.txt``, one line each.

    Args:
        root (str): The dataset folder.
        split (str): The split name.
        lines (list[str]): Its lines, without line ends.

    Returns:
        str: The file's path.
    """
    ann_file = osp.join(root, f'{split}.txt')
    with open(ann_file, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return ann_file


# yapf: disable
def make_moving_square_dataset(root: str,
                               num_per_class: int = 4,
                               num_frames: int = 16,
                               size: int = 32,
                               ext: str = '.mp4',
                               seed: int = 0,
                               splits: Sequence[str] = ('train', 'val')
                               ) -> Dict[str, str]:
    # yapf: enable
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
                    moving_square(direction, num_frames, size, rng))
                lines.append(f'{name} {label}')
        out[split] = write_ann_file(root, split, lines)
    return out
