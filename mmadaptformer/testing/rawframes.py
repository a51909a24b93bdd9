# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Write a small dataset of extracted frames, as mmaction2's
``RawframeDataset`` reads them
(``configs/tiny/tiny_adaptformer_rawframes.py``).
"""
import os
import os.path as osp
from typing import Dict, List, Sequence

import cv2
import numpy as np

from .videos import moving_square, write_ann_file

__all__ = ['make_moving_square_rawframes']


# yapf: disable
def make_moving_square_rawframes(root: str,
                                 num_per_class: int = 4,
                                 num_frames: int = 16,
                                 size: int = 32,
                                 seed: int = 0,
                                 splits: Sequence[str] = ('train', 'val'),
                                 filename_tmpl: str = 'img_{:05}.jpg'
                                 ) -> Dict[str, str]:
    # yapf: enable
    """The two-class moving-square dataset of
    :func:`~mmadaptformer.testing.make_moving_square_dataset` (the same
    clips for the same arguments), as extracted frames.

    Args:
        root (str): Output folder. Each clip's frames go to
            ``root/rawframes/<split>_<label>_<i>/`` named by
            ``filename_tmpl`` from 1, annotation lists to
            ``root/{split}.txt`` (lines ``<frame_dir> <total_frames>
            <label>``).
        num_per_class (int): Clips per class and split. Defaults to 4.
        num_frames (int): Frames per clip. Defaults to 16.
        size (int): Frame height and width. Defaults to 32.
        seed (int): Random seed. Defaults to 0.
        splits (Sequence[str]): Split names. Defaults to
            ``('train', 'val')``.
        filename_tmpl (str): How a frame is named, as the dataset's
            ``filename_tmpl``. Defaults to ``'img_{:05}.jpg'``.

    Returns:
        dict: ``{split: annotation file path}`` and ``'rawframes'``: the
        folder of clip folders.
    """
    rng = np.random.default_rng(seed)
    frame_root = osp.join(root, 'rawframes')
    out = {'rawframes': frame_root}
    for split in splits:
        lines: List[str] = []
        for label, direction in enumerate((1, -1)):
            for i in range(num_per_class):
                name = f'{split}_{label}_{i}'
                folder = osp.join(frame_root, name)
                os.makedirs(folder, exist_ok=True)
                frames = moving_square(direction, num_frames, size, rng)
                for index, frame in enumerate(frames, start=1):
                    path = osp.join(folder, filename_tmpl.format(index))
                    # The frames are RGB; OpenCV writes BGR.
                    if not cv2.imwrite(path, frame[..., ::-1]):
                        raise OSError(f'cannot write the frame {path}')
                lines.append(f'{name} {num_frames} {label}')
        out[split] = write_ann_file(root, split, lines)
    return out
