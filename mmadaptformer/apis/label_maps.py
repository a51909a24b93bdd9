# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Class names a config's test set gives (:func:`config_class_names`).

A label map has the class of label ``i`` on line ``i + 1``, as the data
tools (``tools/data/*``) write it; it is read and checked as the datasets
read theirs, by
:func:`mmadaptformer.datasets.label_map.load_class_names` (a blank line
between names, a name given twice are refused). Which source names
a model's scores is decided by :func:`~mmadaptformer.apis.class_names`.
"""
import glob
import logging
import os
import os.path as osp
import re
from typing import List, Optional, Sequence

from mmengine.config import Config
from mmengine.logging import print_log

from mmadaptformer.datasets.label_map import load_class_names
from mmadaptformer.utils.config_inputs import (ROOTED_CLASSES, dataset_file,
                                               dataset_type_name)
from mmadaptformer.utils.control_characters import escape_controls
from mmadaptformer.utils.local_files import home_note

__all__ = [
    'check_label_map_file', 'config_class_names', 'missing_config_label_map',
    'numbered_names_note', 'warn_missing_label_map', 'warn_numbered_names'
]

# Datasets that take their classes from the folders when nothing names them.
_IMAGE_LISTS = ('CustomDataset', 'mmpretrain.CustomDataset') + ROOTED_CLASSES
#: A line ``<number> <name>``, e.g. ``0 abseiling``.
_NUMBERED = re.compile(r'(\d+)\s+\S')


def check_label_map_file(label_map: Optional[str]) -> None:
    """Refuse a ``label_map`` argument that names no file, before a model
    is read for it.

    Args:
        label_map (str, optional): The class names file given, or None.

    Raises:
        FileNotFoundError: If ``label_map`` is not a file (missing, or a
            folder), naming it and what it should be.
    """
    if label_map is None or osp.isfile(label_map):
        return
    problem = 'a folder, not a file' if osp.isdir(label_map) else \
        'no such file'
    raise FileNotFoundError(
        f'label_map {label_map}: {problem}{home_note(label_map)}; give the '
        'class names file, the '
        'class of label i on line i + 1 (or None for the classes the '
        "checkpoint's meta or the config's test set names).")


def _test_dataset(cfg: Config) -> dict:
    """The test dataset's config, unwrapped (e.g. from a RepeatDataset)."""
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    while 'dataset' in dataset and isinstance(dataset['dataset'], dict):
        dataset = dataset['dataset']
    return dataset


def missing_config_label_map(cfg: Config) -> Optional[str]:
    """The label map file a config's test set names its classes with
    (``classes``), where the dataset would read it, when it is not there.

    Args:
        cfg (Config): The config.

    Returns:
        str, optional: The path, or None when the test set names no such
        file or the file is there.
    """
    path = _classes_file(_test_dataset(cfg), cfg.get('default_scope'))
    return None if path is None or osp.isfile(path) else path


def _classes_file(dataset: dict, scope: Optional[str]) -> Optional[str]:
    """The label map file a dataset config names its classes with
    (``classes``, where no ``metainfo['classes']`` is given), where the
    dataset reads it: with ``~`` expanded (mmpretrain's datasets), under
    ``data_root`` (ours); None if it names none."""
    if (dataset.get('metainfo') or {}).get('classes') is not None:
        return None
    classes = dataset.get('classes')
    if not isinstance(classes, str) or not classes:
        return None
    path, _ = dataset_file('classes', classes, dataset, scope)
    return path


def config_class_names(cfg: Config) -> Optional[List[str]]:
    """The class names a config's test set gives, if any.

    Looked up in this order: the test dataset's ``metainfo['classes']`` or
    ``classes`` (a list or a label map file; under ``data_root`` for
    :class:`~mmadaptformer.datasets.CheckedImageDataset`), a single
    ``*label_map.txt`` next to its ``ann_file`` (what ``tools/data/*``
    write; under ``data_root`` where the ``ann_file`` is relative, as the
    dataset reads it), and for mmpretrain's ``CustomDataset`` (and ours)
    the sorted class folders under ``data_root/data_prefix`` as they are
    now.

    Args:
        cfg (Config): The config.

    Returns:
        list[str], optional: The names, or None.

    Raises:
        LabelMapError: If a label map file or list it finds has a blank
            line between names or a name twice, naming the file (or key),
            the line (or entry) and the name.
    """
    dataset = _test_dataset(cfg)
    metainfo = dataset.get('metainfo') or {}
    classes = metainfo.get('classes')
    owner = "metainfo['classes']"
    scope = cfg.get('default_scope')
    if classes is None:
        classes = _classes_file(dataset, scope) or dataset.get('classes')
        owner = 'classes'
    if isinstance(classes, str):
        # A label map file; where it is absent here, the sources below.
        if osp.isfile(classes):
            return list(load_class_names(classes, owner=owner))
    elif classes:
        return list(load_class_names([str(c) for c in classes], owner=owner))
    ann_file = dataset.get('ann_file')
    if isinstance(ann_file, str) and ann_file:
        # Where the dataset reads it: MMEngine's BaseDataset joins a
        # relative ann_file to data_root (after mmpretrain's expand ``~``).
        ann_file, _ = dataset_file('ann_file', ann_file, dataset, scope)
        maps = sorted(
            glob.glob(osp.join(osp.dirname(ann_file), '*label_map.txt')))
        if len(maps) == 1:
            return list(load_class_names(maps[0]))
    if dataset_type_name(dataset) in _IMAGE_LISTS:
        prefix = dataset.get('data_prefix', '')
        if isinstance(prefix, dict):
            prefix = prefix.get('img_path', '')
        folder = osp.join(dataset.get('data_root', ''), prefix)
        if osp.isdir(folder):
            names = sorted(
                d for d in os.listdir(folder)
                if osp.isdir(osp.join(folder, d)))
            if names:
                return names
    return None


def warn_missing_label_map(cfg: Config, origin: str) -> None:
    """Warn that the label map the config names is not there, where the
    results will give labels without names because of it (a server without
    the dataset's files, a recipe's relative ``data/...`` path run from
    another folder).

    Args:
        cfg (Config): The config.
        origin (str): How the config's test set is named in the warning.
    """
    missing = missing_config_label_map(cfg)
    if missing is not None:
        print_log(
            f'{origin} names its classes in {missing}, which is not there: '
            'the results give labels without names. Pass that label map '
            'file (--label-map; label_map= in Python) to name them.',
            logger='current',
            level=logging.WARNING)


def numbered_names_note(path: str, names: Sequence[str]) -> Optional[str]:
    """A warning for a label map whose every line is ``<index> <name>``
    (``0 abseiling``, the indices counting up from 0 or 1 by line), or
    None.

    The file is read as MMAction2's and MMPretrain's readers read a label
    map (``list_from_file``): a class name per line, as written, so the
    numbers become part of the names; most likely the user meant the
    names alone.

    Args:
        path (str): The label map file.
        names (Sequence[str]): Its names, as read for the model
            (:func:`~mmadaptformer.datasets.label_map.read_label_map`).

    Returns:
        str, optional: The warning, naming the file and its first line.
    """
    numbers = [_NUMBERED.match(name) for name in names]
    if not names or not all(numbers):
        return None
    first = int(numbers[0].group(1))
    if first not in (0, 1) or any(
            int(number.group(1)) != first + i
            for i, number in enumerate(numbers)):
        return None
    return (f'Label map {path}: every line starts with its index (line 1: '
            f'{names[0]!r}), which is kept as part of the class name, as '
            "MMAction2's and MMPretrain's label map readers keep it: the "
            'class of label i is the whole of line i + 1. Remove the indices '
            'if they are not part of the names.')


def warn_numbered_names(path: str,
                        names: Sequence[str],
                        prefix: str = '') -> None:
    """Log :func:`numbered_names_note` as a warning, if there is one.

    Args:
        path (str): The label map file.
        names (Sequence[str]): Its names, as read for the model.
        prefix (str): Put before the note, e.g. ``"Task 'a': "``. Defaults
            to ``''``.
    """
    note = numbered_names_note(path, names)
    if note is not None:
        # The path is the user's, and may hold a terminal's escapes.
        print_log(
            prefix + escape_controls(note),
            logger='current',
            level=logging.WARNING)
