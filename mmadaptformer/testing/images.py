# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Write small real image datasets for tests, demos and benchmarks."""
import os
import os.path as osp
from typing import Dict, Sequence

import cv2
import numpy as np


def _stripes(vertical: bool, size: int,
             rng: np.random.Generator) -> np.ndarray:
    period = int(rng.integers(4, 9))
    phase = int(rng.integers(0, period))
    line = ((np.arange(size) + phase) // (period // 2)) % 2
    mask = np.tile(line[None, :] if vertical else line[:, None],
                   (size, 1) if vertical else (1, size))
    low, high = rng.integers(0, 90, 3), rng.integers(160, 256, 3)
    image = np.where(mask[..., None] > 0, high, low).astype(np.uint8)
    noise = rng.integers(-20, 21, image.shape)
    return np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)


# yapf: disable
def make_stripes_dataset(root: str,
                         num_per_class: int = 4,
                         size: int = 32,
                         seed: int = 0,
                         splits: Sequence[str] = ('train', 'val')
                         ) -> Dict[str, str]:
    # yapf: enable
    """A two-class image dataset in mmpretrain ``CustomDataset`` layout.

    Class ``horizontal`` has horizontal stripes, class ``vertical`` vertical
    ones. Images are written as PNG to ``root/{split}/{class}/{i}.png``.

    Args:
        root (str): Output folder.
        num_per_class (int): Images per class and split. Defaults to 4.
        size (int): Image height and width. Defaults to 32.
        seed (int): Random seed. Defaults to 0.
        splits (Sequence[str]): Split names. Defaults to
            ``('train', 'val')``.

    Returns:
        dict: ``{split: folder}``.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for split in splits:
        for name, vertical in (('horizontal', False), ('vertical', True)):
            folder = osp.join(root, split, name)
            os.makedirs(folder, exist_ok=True)
            for i in range(num_per_class):
                image = _stripes(vertical, size, rng)
                path = osp.join(folder, f'{i}.png')
                if not cv2.imwrite(path, image[..., ::-1]):
                    raise RuntimeError(f'OpenCV could not write {path}')
        out[split] = osp.join(root, split)
    return out
