# Copyright (c) mmadaptformer contributors. All rights reserved.
"""SVHN (cropped digits): the owners' ``.mat`` files -> PNG images and
mmpretrain ``CustomDataset`` lists.

``{train,test,extra}_32x32.mat`` hold ``X``, ``(32, 32, 3, N)`` uint8 RGB,
and ``y``, ``(N, 1)`` with 1..9 for the digits 1..9 and 10 for the digit 0.
The label of a sample is its digit (so 10 -> 0).
"""
import logging
import os
import os.path as osp
import shutil
from typing import Dict, List, Sequence, Set, Tuple

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


def stale_entries(folder: str, files: Set[str],
                  subfolders: Sequence[str]) -> List[str]:
    """What ``folder`` holds besides ``files`` in ``subfolders``.

    Args:
        folder (str): A split folder; it need not exist.
        files (set[str]): The ``/``-separated paths, relative to
            ``folder``, that a conversion writes.
        subfolders (Sequence[str]): The folders it makes in ``folder``.

    Returns:
        list[str]: The other files and links, and the other top-level
        folders (``CustomDataset`` takes each for a class), relative to
        ``folder``, sorted.
    """
    found = []
    for parent, dirs, names in os.walk(folder):
        rel = osp.relpath(parent, folder).replace(os.sep, '/')
        prefix = '' if rel == '.' else rel + '/'
        # os.walk lists a link to a folder in dirs and does not enter it.
        keep = [
            d for d in dirs if not osp.islink(osp.join(parent, d)) and (
                prefix or d in subfolders)
        ]
        found += [prefix + d for d in dirs if d not in keep]
        dirs[:] = keep
        found += [prefix + n for n in names if prefix + n not in files]
    return sorted(found)


def convert_svhn(mat_dir: str,
                 out_dir: str,
                 splits: Sequence[str] = ('train', 'test'),
                 overwrite: bool = False) -> Dict[str, AnnotationList]:
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
        overwrite (bool): Delete what a split folder holds besides the
            files this conversion writes (e.g. images of an earlier, bigger
            run), which ``CustomDataset`` without ``ann_file`` would load as
            samples. Without it such a folder stops the conversion before
            anything is written. Defaults to False.

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
    # Refuse stale files before writing anything: the folder layout is
    # itself a dataset (CustomDataset without ann_file).
    stale = {}
    for split, (_, labels) in data.items():
        folder = osp.join(out_dir, split)
        if osp.lexists(folder) and not osp.isdir(folder):
            raise FileExistsError(
                f'{folder} exists and is not a folder; the {split} images go '
                'there. Move it away.')
        names = {f'{label}/{i:06d}.png' for i, label in enumerate(labels)}
        stale[split] = stale_entries(folder, names, SVHN_CLASSES)
        if stale[split] and not overwrite:
            raise FileExistsError(
                f'{folder} holds {len(stale[split])} files or folders this '
                f'conversion would not write (e.g. {stale[split][0]}), maybe '
                'of an earlier run; CustomDataset without ann_file would '
                'load them as samples. Pass --overwrite (overwrite=True) to '
                'delete them, or delete the folder.')
    written = {}
    for split, (images, labels) in data.items():
        folder = osp.join(out_dir, split)
        for name in stale[split]:
            path = osp.join(folder, name)
            if osp.isdir(path) and not osp.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
        if stale[split]:
            print_log(
                f'SVHN {split}: deleted the {len(stale[split])} entries of '
                f'{folder} this conversion does not write (overwrite=True)',
                logger='current',
                level=logging.WARNING)
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
