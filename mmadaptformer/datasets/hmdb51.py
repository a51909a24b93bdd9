# Copyright (c) mmadaptformer contributors. All rights reserved.
"""HMDB51: the official split files -> mmaction2 video lists.

The owners' ``test_train_splits.rar`` holds ``<class>_test_split{1,2,3}.txt``
for each of the 51 classes, with lines ``<video>.avi <id>``: 1 = train,
2 = test, 0 = not used in that split. Videos lie at
``<video_dir>/<class>/<video>.avi``. Labels are the indices of the class
names sorted with Python's ``sorted`` (byte order, as ``LC_ALL=C ls``):
``brush_hair`` = 0, ..., ``wave`` = 50, as in mmaction2.
"""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.logging import print_log

from .annotation_lists import (AnnotationError, AnnotationList, Sample,
                               check_files_exist, check_unique, child_holding,
                               iter_lines, write_annotation_list,
                               write_label_map)

HMDB51_NUM_CLASSES = 51
HMDB51_SPLITS = (1, 2, 3)
_SPLIT_FILE = re.compile(r'^(?P<cls>.+)_test_split(?P<split>[1-3])\.txt$')
# mmaction2's names (tools/data/hmdb51 there).
HMDB51_OUTPUT_FILES = dict(
    train='hmdb51_train_split_{}_videos.txt',
    val='hmdb51_val_split_{}_videos.txt',
    label_map='hmdb51_label_map.txt')


def find_hmdb51_split_files(split_dir: str, split: int) -> Dict[str, str]:
    """Find the split files of one split.

    Args:
        split_dir (str): The folder of ``<class>_test_split<k>.txt`` files.
        split (int): 1, 2 or 3.

    Returns:
        dict[str, str]: Class name -> split file, sorted by class name.
    """
    if split not in HMDB51_SPLITS:
        raise ValueError(f'split must be one of {HMDB51_SPLITS}, got '
                         f'{split!r}')
    if not osp.isdir(split_dir):
        raise FileNotFoundError(f'HMDB51 split folder not found: {split_dir}')
    files = {}
    for name in sorted(os.listdir(split_dir)):
        match = _SPLIT_FILE.match(name)
        if match and int(match['split']) == split:
            files[match['cls']] = osp.join(split_dir, name)
    if not files:
        raise FileNotFoundError(
            f'No HMDB51 split files <class>_test_split{split}.txt in '
            f'{split_dir}{_split_folder_hint(split_dir, split)}')
    return files


def _split_folder_hint(split_dir: str, split: int) -> str:
    """``'; they are in SUB: give that folder'`` where a folder in
    ``split_dir`` holds the split files (``data/hmdb51`` given for
    ``data/hmdb51/testTrainMulti_7030_splits``), else ``''``."""
    sub = child_holding(
        split_dir, lambda sub: osp.isdir(sub) and any(
            (m := _SPLIT_FILE.match(f)) and int(m['split']) == split
            for f in os.listdir(sub)))
    if sub is None:
        return ''
    return f'; they are in {sub}: give that folder as SPLIT_DIR'


def parse_hmdb51_split_file(path: str, class_name: str,
                            label: int) -> Tuple[List[Sample], List[Sample]]:
    """Read one ``<class>_test_split<k>.txt``.

    Args:
        path (str): The split file.
        class_name (str): Its class, the folder its videos are in.
        label (int): The class's label.

    Returns:
        tuple[list[Sample], list[Sample]]: Train (id 1) and test (id 2)
        samples ``<class>/<video>.avi``, in file order. Id 0 rows belong to
        neither.
    """
    train: List[Sample] = []
    val: List[Sample] = []
    for lineno, line in iter_lines(path, 'HMDB51 split file'):
        fields = line.split()
        if len(fields) != 2 or fields[1] not in ('0', '1', '2'):
            raise AnnotationError(
                f"{path}:{lineno}: expected '<video>.avi <0|1|2>', got "
                f'{line!r}')
        video, usage = fields
        if not video.endswith('.avi'):
            video += '.avi'
        if usage != '0':
            sample = Sample(f'{class_name}/{video}', label, f'{path}:{lineno}')
            (train if usage == '1' else val).append(sample)
    return train, val


def build_hmdb51_file_lists(
        split_dir: str,
        out_dir: str,
        splits: Sequence[int] = HMDB51_SPLITS,
        video_dir: Optional[str] = None,
        num_classes: int = HMDB51_NUM_CLASSES) -> Dict[str, AnnotationList]:
    """Write mmaction2 ``VideoDataset`` lists for HMDB51's splits.

    Everything is read and checked before anything is written. For each
    split ``k`` the outputs are ``hmdb51_{train,val}_split_{k}_videos.txt``
    (lines ``<class>/<video>.avi <label>``); ``hmdb51_label_map.txt`` has the
    class of label ``i`` on line ``i + 1``.

    Args:
        split_dir (str): The folder of ``<class>_test_split<k>.txt`` files.
        out_dir (str): Where the lists go.
        splits (Sequence[int]): Which of the splits 1, 2, 3 to write.
            Defaults to all three.
        video_dir (str, optional): If given, check that every listed video
            is a file ``<video_dir>/<class>/<video>.avi``. Defaults to None.
        num_classes (int): The number of classes each split must have.
            Defaults to 51.

    Returns:
        dict[str, AnnotationList]: ``'train_split_<k>'`` and
        ``'val_split_<k>'`` for each split.

    Examples:
        >>> build_hmdb51_file_lists('data/hmdb51/testTrainMulti_7030_splits',
        ...                         'data/hmdb51',
        ...                         video_dir='data/hmdb51/videos')
    """
    if not splits:
        raise ValueError('splits is empty; expected some of (1, 2, 3)')
    files = {
        split: find_hmdb51_split_files(split_dir, split)
        for split in splits
    }
    classes = sorted(set().union(*files.values()))
    for split, per_class in files.items():
        for name in classes:
            if name not in per_class:
                raise FileNotFoundError(
                    f'HMDB51 split file not found: '
                    f'{osp.join(split_dir, f"{name}_test_split{split}.txt")}'
                    ' (other splits have this class)')
    if len(classes) != num_classes:
        raise AnnotationError(
            f'{split_dir}: split files name {len(classes)} classes, expected '
            f'num_classes={num_classes}: {classes}')

    lists: Dict[str, List[Sample]] = {}
    for split, per_class in files.items():
        train: List[Sample] = []
        val: List[Sample] = []
        for label, name in enumerate(classes):
            class_train, class_val = parse_hmdb51_split_file(
                per_class[name], name, label)
            train += class_train
            val += class_val
        # A video in both halves of a split would leak test data.
        check_unique(train + val, 'video')
        lists[f'train_split_{split}'] = train
        lists[f'val_split_{split}'] = val
        print_log(
            f'HMDB51 split {split}: {len(train)} train and {len(val)} test '
            f'videos of {len(classes)} classes',
            logger='current')
    if video_dir is not None:
        # Each video once, where it is first listed.
        unique: Dict[str, Sample] = {}
        for samples in lists.values():
            for sample in samples:
                unique.setdefault(sample.filename, sample)
        check_files_exist(list(unique.values()), video_dir, 'video')

    written = {}
    for key, samples in lists.items():
        half, split = key.split('_split_')
        written[key] = write_annotation_list(
            osp.join(out_dir, HMDB51_OUTPUT_FILES[half].format(split)),
            samples)
    write_label_map(
        osp.join(out_dir, HMDB51_OUTPUT_FILES['label_map']), classes)
    return written
