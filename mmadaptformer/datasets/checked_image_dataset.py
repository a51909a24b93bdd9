# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An mmpretrain ``CustomDataset`` whose class names move with its data."""
import os.path as osp
from typing import Optional, Sequence, Union

from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS

from .label_map import load_class_names

__all__ = ['CheckedImageDataset', 'rooted_classes']


def rooted_classes(classes, data_root: str):
    """``classes`` as :class:`CheckedImageDataset` opens it: a relative
    file under ``data_root``; a list, or an absolute path, as it is."""
    if isinstance(classes, str) and data_root and not osp.isabs(classes):
        return osp.join(data_root, classes)
    return classes


@DATASETS.register_module()
class CheckedImageDataset(CustomDataset):
    """mmpretrain's ``CustomDataset`` with a ``classes`` file found under
    ``data_root``, as ``ann_file`` is, and checked.

    Used in the image recipes of `AdaptFormer
    <https://arxiv.org/abs/2205.13535>`_ (Food-101), whose class names come
    in a file of the dataset (``meta/classes.txt``). mmpretrain opens a
    ``classes`` file from the working directory, so a recipe that moved
    ``data_root`` (``--cfg-options``) kept looking for the names where the
    data no longer was. The names become ``metainfo['classes']``, which
    MMEngine's Runner saves in every checkpoint.

    Args:
        data_root (str): The dataset's folder; ``ann_file``,
            ``data_prefix`` and a relative ``classes`` file are under it.
            Defaults to ``''``.
        classes (str | Sequence[str], optional): The class names in label
            order, or a file with the class of label ``i`` on line ``i + 1``
            (relative to ``data_root`` unless absolute). A missing file, a
            count other than ``num_classes``, a blank line between names or
            a name given twice raise, naming the file and line. Defaults to
            None (names from ``metainfo``, or the class folders).
        num_classes (int, optional): How many names ``classes`` must have.
            Defaults to None (not checked).
        **kwargs: Other arguments of ``CustomDataset``, such as
            ``ann_file``, ``data_prefix`` and ``pipeline``.

    Examples:
        >>> train_dataloader = dict(
        ...     dataset=dict(
        ...         type='CheckedImageDataset',
        ...         data_root='data/food-101',
        ...         ann_file='annotations/train.txt',
        ...         data_prefix='images',
        ...         classes='meta/classes.txt',
        ...         num_classes=101,
        ...         pipeline=train_pipeline))
    """

    def __init__(self,
                 data_root: str = '',
                 classes: Optional[Union[str, Sequence[str]]] = None,
                 num_classes: Optional[int] = None,
                 **kwargs) -> None:
        names = load_class_names(
            rooted_classes(classes, data_root),
            num_classes,
            owner=f'CheckedImageDataset (data_root={data_root!r})',
            origin='it comes with the dataset; a relative path is taken '
            'from data_root')
        super().__init__(data_root=data_root, classes=names, **kwargs)
