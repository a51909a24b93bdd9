# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Food-101: the owners' ``meta/*.txt`` -> mmpretrain ``CustomDataset``
lists.

``food-101/meta/classes.txt`` names the 101 classes, one a line;
``meta/{train,test}.txt`` list the images as ``<class>/<image id>``, which
lie at ``food-101/images/<class>/<image id>.jpg``. A sample's label is its
class's line index (0-based) in ``classes.txt``.
"""
import os.path as osp
from typing import Dict, List, Mapping

from mmengine.logging import print_log

from .annotation_lists import (AnnotationError, AnnotationList, Sample,
                               check_files_exist, check_unique, child_holding,
                               iter_lines, write_annotation_list)

FOOD101_NUM_CLASSES = 101
FOOD101_SPLITS = ('train', 'test')


def load_food101_classes(path: str,
                         num_classes: int = FOOD101_NUM_CLASSES
                         ) -> Dict[str, int]:
    """Read ``meta/classes.txt``.

    Args:
        path (str): The class list, one name a line.
        num_classes (int): The number of classes it must have.
            Defaults to 101.

    Returns:
        dict[str, int]: Class name -> label (its 0-based line index).
    """
    class_to_idx: Dict[str, int] = {}
    first_line: Dict[str, int] = {}
    for lineno, name in iter_lines(path, 'Food-101 class list'):
        if len(name.split()) != 1 or '/' in name:
            raise AnnotationError(
                f'{path}:{lineno}: expected a class name without spaces or '
                f'"/", got {name!r}')
        if name in class_to_idx:
            raise AnnotationError(
                f'{path}:{lineno}: class {name!r} is also on line '
                f'{first_line[name]}')
        class_to_idx[name] = len(class_to_idx)
        first_line[name] = lineno
    if len(class_to_idx) != num_classes:
        raise AnnotationError(f'{path}: has {len(class_to_idx)} classes, '
                              f'expected num_classes={num_classes}')
    return class_to_idx


def _root_hint(root: str) -> str:
    """``'; ...: give FOLDER as ROOT'`` where ``root`` is not the dataset's
    root but the folder it is in (``data`` for ``data/food-101``) or a
    folder inside it (``images/``, ``meta/``, ``images/apple_pie``), else
    ``''``. The root is the folder whose ``meta/classes.txt`` is there."""
    classes = osp.join('meta', 'classes.txt')
    found = child_holding(root, lambda sub: osp.isfile(osp.join(sub, classes)))
    if found is not None:
        return (f'; {root} is the folder the dataset is in: give {found} '
                'as ROOT')
    here = osp.abspath(root)
    for _ in range(2):  # images/ or meta/, or a class folder in images/
        parent = osp.dirname(here)
        if parent == here:
            break
        if osp.isfile(osp.join(parent, classes)):
            inside = osp.relpath(osp.abspath(root), parent)
            shown = parent if osp.isabs(root) else osp.relpath(parent)
            return (f'; {root} is the {inside}/ folder inside the dataset: '
                    f'give {shown} as ROOT')
        here = parent
    return ''


def parse_food101_split(path: str,
                        class_to_idx: Mapping[str, int],
                        ext: str = '.jpg') -> List[Sample]:
    """Read ``meta/train.txt`` or ``meta/test.txt``.

    Args:
        path (str): The split file, lines ``<class>/<image id>`` (an id
            that already ends in ``ext``, in any case, keeps it as it is).
        class_to_idx (Mapping[str, int]): From
            :func:`load_food101_classes`.
        ext (str): The images' extension. Defaults to ``'.jpg'``.

    Returns:
        list[Sample]: ``<class>/<image id><ext>`` and its label, in file
        order; ``ext`` is not added a second time.
    """
    samples = []
    for lineno, line in iter_lines(path, 'Food-101 split file'):
        parts = line.split('/')
        # Some copies of the meta files list ids with their extension.
        has_ext = bool(ext) and line.lower().endswith(ext.lower())
        if has_ext and len(parts) == 2:
            parts[1] = parts[1][:-len(ext)]
        if len(parts) != 2 or not all(parts) or len(line.split()) != 1:
            raise AnnotationError(
                f"{path}:{lineno}: expected '<class>/<image id>', got "
                f'{line!r}')
        name = parts[0]
        if name not in class_to_idx:
            raise AnnotationError(
                f'{path}:{lineno}: class {name!r} is not in classes.txt')
        filename = line if has_ext else line + ext
        samples.append(
            Sample(filename, class_to_idx[name], f'{path}:{lineno}'))
    return samples


def build_food101_file_lists(
        root: str,
        out_dir: str,
        check_images: bool = False,
        num_classes: int = FOOD101_NUM_CLASSES) -> Dict[str, AnnotationList]:
    """Write mmpretrain ``CustomDataset`` lists for Food-101.

    Everything is read and checked before anything is written. The outputs
    are ``<out_dir>/{train,test}.txt``, lines ``<class>/<image id>.jpg
    <label>`` relative to ``<root>/images``.

    Args:
        root (str): The extracted ``food-101`` folder (``images/``,
            ``meta/``).
        out_dir (str): Where the lists go.
        check_images (bool): Check that every listed image is a file under
            ``<root>/images``. Defaults to False.
        num_classes (int): The number of classes ``meta/classes.txt`` must
            have. Defaults to 101.

    Returns:
        dict[str, AnnotationList]: ``'train'`` and ``'test'``.

    Raises:
        FileNotFoundError: If a meta file is not there; for
            ``meta/classes.txt``, naming the dataset's root where ``root``
            is the folder it is in or a folder inside it.
        AnnotationError: If a meta file or OUT_DIR is wrong, naming the
            file and line.

    Examples:
        >>> build_food101_file_lists('data/food-101',
        ...                          'data/food-101/annotations')
    """
    inputs = [
        osp.join(root, 'meta', f'{n}.txt')
        for n in ('classes', ) + tuple(FOOD101_SPLITS)
    ]
    for split in FOOD101_SPLITS:
        out = osp.join(out_dir, f'{split}.txt')
        if any(osp.realpath(out) == osp.realpath(i) for i in inputs):
            raise AnnotationError(
                f'{out} is one of the owners\' files this tool reads '
                f'({root}/meta/); give another OUT_DIR, e.g. '
                f'{osp.join(root, "annotations")}.')
    classes = osp.join(root, 'meta', 'classes.txt')
    if not osp.isfile(classes):
        # Named here, not by the reader: it knows no dataset root.
        raise FileNotFoundError(f'Food-101 class list not found: {classes}'
                                f'{_root_hint(root)}')
    class_to_idx = load_food101_classes(classes, num_classes)
    splits = {
        split: parse_food101_split(
            osp.join(root, 'meta', f'{split}.txt'), class_to_idx)
        for split in FOOD101_SPLITS
    }
    everything = splits['train'] + splits['test']
    check_unique(everything, 'image')
    if check_images:
        check_files_exist(everything, osp.join(root, 'images'), 'image')
    written = {
        split:
        write_annotation_list(osp.join(out_dir, f'{split}.txt'), samples)
        for split, samples in splits.items()
    }
    print_log(
        f'Food-101: {len(splits["train"])} train and '
        f'{len(splits["test"])} test images of {num_classes} classes',
        logger='current')
    return written
