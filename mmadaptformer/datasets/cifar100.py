# Copyright (c) mmadaptformer contributors. All rights reserved.
"""CIFAR-100: check an extracted ``cifar-100-python`` folder offline.

mmpretrain's ``CIFAR100`` reads the owners' pickles directly; there is no
conversion. It accepts a folder only if the md5 of both ``train`` and
``test`` equals the owners' (whichever split is loaded), and otherwise, with
its default ``download=True``, tries to download the archive. With
``download=False`` it only raises ``Cannot find CIFAR100 dataset``, without
saying which file is missing or corrupted; :func:`verify_cifar100` says.
"""
import os.path as osp
from typing import Dict, Sequence

from mmengine.logging import print_log

from .annotation_lists import AnnotationError

CIFAR100_NUM_CLASSES = 100
CIFAR100_SPLITS = ('train', 'test')


def _md5(path: str, chunk_size: int = 1 << 20) -> str:
    import hashlib
    md5 = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(chunk_size), b''):
            md5.update(chunk)
    return md5.hexdigest()


def verify_cifar100(data_root: str,
                    splits: Sequence[str] = CIFAR100_SPLITS) -> Dict[str, int]:
    """Check that mmpretrain's ``CIFAR100`` loads ``data_root`` offline.

    First each file mmpretrain checks is compared with the md5 that
    mmpretrain expects (its ``CIFAR100.train_list`` / ``test_list``); then
    each split is loaded with ``CIFAR100(data_root, split,
    download=False)`` and its labels are checked to lie in 0..99.

    Args:
        data_root (str): The folder that holds ``cifar-100-python/``; the
            ``data_root`` of the dataset config.
        splits (Sequence[str]): Splits to load. Defaults to
            ``('train', 'test')``.

    Returns:
        dict[str, int]: The number of images of each split.

    Examples:
        >>> verify_cifar100('data/cifar100')
        {'train': 50000, 'test': 10000}
    """
    from mmpretrain.datasets import CIFAR100
    for split in splits:
        if split not in CIFAR100_SPLITS:
            raise ValueError(f'CIFAR-100 split must be one of '
                             f'{CIFAR100_SPLITS}, got {split!r}')
    folder = osp.join(data_root, CIFAR100.base_folder)
    if not osp.isdir(folder):
        raise FileNotFoundError(
            f'CIFAR-100 folder not found: {folder} (extract '
            f'{CIFAR100.filename} into {data_root})')
    for name, expected in CIFAR100.train_list + CIFAR100.test_list:
        path = osp.join(folder, name)
        if not osp.isfile(path):
            raise FileNotFoundError(f'CIFAR-100 file not found: {path}')
        actual = _md5(path)
        if expected is not None and actual != expected:
            raise AnnotationError(
                f'{path}: md5 is {actual}, mmpretrain CIFAR100 expects '
                f'{expected}; extract it again from {CIFAR100.filename} '
                f'(md5 {CIFAR100.tgz_md5})')
    counts = {}
    for split in splits:
        dataset = CIFAR100(data_root=data_root, split=split, download=False)
        labels = dataset.get_gt_labels()
        if len(dataset.CLASSES) != CIFAR100_NUM_CLASSES:
            raise AnnotationError(
                f'CIFAR100 {split}: {len(dataset.CLASSES)} classes, expected '
                f'{CIFAR100_NUM_CLASSES}')
        if len(labels) and not 0 <= labels.min() <= labels.max() < len(
                dataset.CLASSES):
            raise AnnotationError(
                f'{osp.join(folder, split)}: labels span {labels.min()}..'
                f'{labels.max()}, expected 0..{CIFAR100_NUM_CLASSES - 1}')
        counts[split] = len(dataset)
        print_log(
            f'CIFAR100 {split}: {len(dataset)} images of '
            f'{CIFAR100_NUM_CLASSES} classes load from {folder}',
            logger='current')
    return counts
