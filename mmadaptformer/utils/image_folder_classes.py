# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Class names that do not fit the class folders they name.

mmpretrain's ``CustomDataset`` without an ``ann_file`` gives label ``i`` to
the ``i``-th class folder in sorted order, whatever ``classes`` says:
``classes`` only names the labels, and only their number is checked
(an ``AssertionError`` from inside the Runner). Names listed in another
order (``classes=['dog', 'cat']`` for the folders ``cat/`` and ``dog/``)
trained and tested without a word; every checkpoint then recorded the
cat folder's label as ``'dog'``, and inference named it so.
:func:`misnamed_folder_classes` finds both mistakes before the Runner runs.
"""
import os
import os.path as osp
from typing import Optional, Sequence, Tuple

from .local_files import is_local

__all__ = ['misnamed_folder_classes']

# How many mislabelled folders an error spells out.
_SHOWN = 3


def misnamed_folder_classes(dataset, node: dict) -> Optional[Tuple[str, str]]:
    """What is wrong with the class names of a lazily built mmpretrain
    ``CustomDataset`` that lists its class folders (no ``ann_file``).

    A name may rename a folder (``classes=['cat', 'dog']`` for the folders
    ``n01/`` and ``n02/``); it is refused when it is the name of another
    label's folder, or when the names are not one per folder.

    Args:
        dataset: A dataset built with ``lazy_init=True``.
        node (dict): Its config, to tell ``classes`` from
            ``metainfo.classes``.

    Returns:
        tuple, optional: ``(argument, what)``, e.g. ``('classes', 'the
        class names ... do not follow the class folders of data/train
        ...')``; None if the names fit, none are given, or nothing could be
        checked (no such dataset, no labels, a folder that is not local or
        not there).
    """
    try:
        from mmpretrain.datasets import CustomDataset
    except ImportError:  # no mmpretrain: none of its datasets to check
        return None
    if not isinstance(dataset, CustomDataset) or dataset.ann_file or \
            not dataset.with_label:
        return None
    names = (dataset.metainfo or {}).get('classes')
    folder = dataset.data_prefix.get('img_path')
    backend = getattr(dataset, 'backend_args', None) or {}
    if not names or not isinstance(folder, str) or not is_local(folder) or \
            backend.get('backend', 'local') != 'local' or \
            not osp.isdir(folder):
        return None
    argument = 'classes' if node.get('classes') is not None else \
        'metainfo.classes'
    names = [str(name) for name in names]
    # mmpretrain's find_folders: every sub-folder, sorted.
    folders = sorted(e.name for e in os.scandir(folder) if e.is_dir())
    kind = type(dataset).__name__
    rule = (f'without an ann_file, {kind} gives label i to the i-th class '
            f'folder of {folder} in sorted order ({_labelled(folders)})')
    if len(names) != len(folders):
        return argument, (
            f'{len(names)} class names {tuple(names)} for {len(folders)} '
            f'class folders: {rule}; give one name per folder, in that order')
    wrong = [
        i for i, (name, own) in enumerate(zip(names, folders))
        if name != own and (name in folders or own in names)
    ]
    if not wrong:
        return None
    shown = ', '.join(f'label {i} (the folder {folders[i]!r}) would be '
                      f'named {names[i]!r}' for i in wrong[:_SHOWN])
    if len(wrong) > _SHOWN:
        shown += f' and {len(wrong) - _SHOWN} more'
    return argument, (
        f'the class names {tuple(names)} name the class folders in another '
        f'order: {rule}, so {shown}; list the names in the folders\' order')


def _labelled(folders: Sequence[str]) -> str:
    """``0: 'cat', 1: 'dog'``, the first few."""
    text = ', '.join(f'{i}: {name!r}'
                     for i, name in enumerate(folders[:_SHOWN * 2]))
    return text + (', ...' if len(folders) > _SHOWN * 2 else '')
