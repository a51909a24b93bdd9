# Copyright (c) mmadaptformer contributors. All rights reserved.
"""SVHN (cropped digits): the owners' ``.mat`` files -> PNG images and
mmpretrain ``CustomDataset`` lists.

``{train,test,extra}_32x32.mat`` hold ``X``, ``(32, 32, 3, N)`` uint8 RGB,
and ``y``, ``(N, 1)`` with 1..9 for the digits 1..9 and 10 for the digit 0.
The label of a sample is its digit (so 10 -> 0).
"""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from mmengine.logging import print_log

from .annotation_lists import (AnnotationError, AnnotationList, Sample,
                               require_file, write_annotation_list)

SVHN_SPLITS = ('train', 'test', 'extra')
SVHN_CLASSES = tuple(str(digit) for digit in range(10))


def load_svhn_mat(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Read one SVHN ``<split>_32x32.mat``.

    Args:
        path (str): The ``.mat`` file (MATLAB v5, as distributed).

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(N, 32, 32, 3)`` uint8 RGB images
        and ``(N,)`` int64 digit labels 0..9.
    """
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError
    require_file(path, 'SVHN .mat file')
    try:
        mat = loadmat(path, variable_names=('X', 'y'))
    except (MatReadError, ValueError, TypeError, NotImplementedError,
            OSError) as e:
        raise AnnotationError(
            f'{path}: scipy.io.loadmat cannot read it: {e}') from None
    for key in ('X', 'y'):
        if key not in mat:
            raise AnnotationError(f'{path}: has no variable {key!r}; SVHN '
                                  "files hold 'X' and 'y'")
    images, labels = mat['X'], mat['y']
    if images.ndim != 4 or images.shape[:3] != (32, 32, 3) \
            or images.dtype != np.uint8:
        raise AnnotationError(
            f'{path}: X has shape {images.shape} and dtype {images.dtype}, '
            'expected (32, 32, 3, N) uint8')
    num = images.shape[3]
    if labels.shape not in ((num, 1), (num, )) \
            or labels.dtype.kind not in 'iuf':
        raise AnnotationError(
            f'{path}: y has shape {labels.shape} and dtype {labels.dtype}, '
            f'expected ({num}, 1) numbers for the {num} images of X')
    labels = labels.reshape(-1)
    bad = np.flatnonzero((labels < 1) | (labels > 10)
                         | (labels != np.round(labels)))
    if bad.size:
        first = labels[bad[0]].item()
        raise AnnotationError(
            f'{path}: y[{bad[0]}] is {first!r}, expected 1..10 (10 is the '
            f'digit 0); {bad.size} such labels')
    return images.transpose(3, 0, 1, 2), labels.astype(np.int64) % 10


def convert_svhn(
    mat_dir: str, out_dir: str, splits: Sequence[str] = ('train', 'test')
) -> Dict[str, AnnotationList]:
    """Write SVHN as PNG files and mmpretrain ``CustomDataset`` lists.

    Image ``i`` of ``<split>_32x32.mat`` with digit ``d`` becomes
    ``<out_dir>/<split>/<d>/<i:06d>.png``; ``<out_dir>/meta/<split>.txt``
    lists it as ``<d>/<i:06d>.png <d>``, relative to ``<out_dir>/<split>``.
    PNG is lossless, so the images decode to the ``.mat`` pixels.

    Args:
        mat_dir (str): The folder of ``<split>_32x32.mat`` files.
        out_dir (str): Where images and lists go.
        splits (Sequence[str]): Which of ``'train'``, ``'test'`` and
            ``'extra'`` to convert. Defaults to ``('train', 'test')``.

    Returns:
        dict[str, AnnotationList]: One entry per split.

    Examples:
        >>> convert_svhn('data/svhn/raw', 'data/svhn')
    """
    for split in splits:
        if split not in SVHN_SPLITS:
            raise ValueError(f'SVHN split must be one of {SVHN_SPLITS}, got '
                             f'{split!r}')
    # Read (and check) every file before writing anything.
    data = {
        split: load_svhn_mat(osp.join(mat_dir, f'{split}_32x32.mat'))
        for split in splits
    }
    written = {}
    for split, (images, labels) in data.items():
        for digit in SVHN_CLASSES:
            os.makedirs(osp.join(out_dir, split, digit), exist_ok=True)
        samples: List[Sample] = []
        for i, (image, label) in enumerate(zip(images, labels)):
            name = f'{label}/{i:06d}.png'
            path = osp.join(out_dir, split, name)
            if not cv2.imwrite(path, np.ascontiguousarray(image[..., ::-1])):
                raise OSError(f'OpenCV could not write {path}')
            samples.append(Sample(name, int(label), f'{split}_32x32.mat[{i}]'))
        print_log(
            f'SVHN {split}: wrote {len(samples)} PNG files under '
            f'{osp.join(out_dir, split)}',
            logger='current')
        written[split] = write_annotation_list(
            osp.join(out_dir, 'meta', f'{split}.txt'), samples)
    return written
