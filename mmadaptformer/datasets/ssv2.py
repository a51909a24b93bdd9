# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Something-Something V2: the owners' JSON files -> mmaction2 video lists.

The owners distribute ``something-something-v2-{train,validation}.json``
(a list of ``{"id", "label", "template", "placeholders"}`` entries) and
``something-something-v2-labels.json`` (``{template without brackets:
"index"}``). A sample's class is its ``template`` with the square brackets
removed, its label that class's index in the labels JSON.
"""
import json
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.logging import print_log

from .annotation_lists import (AnnotationError, AnnotationList, Sample,
                               check_files_exist, check_unique, parse_int,
                               require_file, write_annotation_list,
                               write_label_map)

SSV2_NUM_CLASSES = 174
SSV2_ANNOTATION_FILES = dict(
    train='something-something-v2-train.json',
    val='something-something-v2-validation.json',
    labels='something-something-v2-labels.json')
# mmaction2's names (configs/_base_ and tools/data/sthv2 there).
SSV2_OUTPUT_FILES = dict(
    train='sthv2_train_list_videos.txt',
    val='sthv2_val_list_videos.txt',
    label_map='sthv2_label_map.txt')


def ssv2_template_to_class(template: str) -> str:
    """``'Holding [something] next to [something]'`` ->
    ``'Holding something next to something'``."""
    return template.replace('[', '').replace(']', '')


def _load_json(path: str, what: str) -> Any:
    """Parse a JSON file, rejecting objects with a repeated key."""

    def no_repeats(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise AnnotationError(f'{path}: key {key!r} appears twice')
            out[key] = value
        return out

    require_file(path, what)
    with open(path, 'rb') as f:
        try:
            # json detects UTF-8/16/32 from the bytes.
            return json.loads(f.read(), object_pairs_hook=no_repeats)
        except json.JSONDecodeError as e:
            raise AnnotationError(
                f'{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}'
            ) from None
        except UnicodeDecodeError as e:
            raise AnnotationError(f'{path}: not UTF-8 JSON: {e}') from None


def load_ssv2_labels(path: str,
                     num_classes: int = SSV2_NUM_CLASSES) -> Dict[str, int]:
    """Read ``something-something-v2-labels.json``.

    Args:
        path (str): The labels JSON, ``{class: "index"}``.
        num_classes (int): The number of classes it must have, with the
            distinct indices ``0 .. num_classes - 1``. Defaults to 174.

    Returns:
        dict[str, int]: Class (template without brackets) -> label.
    """
    data = _load_json(path, 'SSv2 labels JSON')
    if not isinstance(data, dict):
        raise AnnotationError(
            f'{path}: expected an object {{"<template>": "<index>"}}, got a '
            f'{type(data).__name__}')
    if len(data) != num_classes:
        raise AnnotationError(f'{path}: has {len(data)} classes, expected '
                              f'num_classes={num_classes}')
    class_to_idx: Dict[str, int] = {}
    idx_to_class: Dict[int, str] = {}
    for i, (name, value) in enumerate(data.items()):
        if isinstance(value, str):
            index = parse_int(value)
        else:
            index = value if type(value) is int else None
        if index is None:
            raise AnnotationError(
                f'{path}: entry {i} ({name!r}): index {value!r} is not a '
                'non-negative integer')
        if index >= num_classes:
            raise AnnotationError(
                f'{path}: entry {i} ({name!r}): index {index} is out of '
                f'range 0..{num_classes - 1}')
        if index in idx_to_class:
            raise AnnotationError(
                f'{path}: entry {i} ({name!r}): index {index} is also the '
                f'index of {idx_to_class[index]!r}')
        if '[' in name or ']' in name:
            raise AnnotationError(
                f'{path}: entry {i} ({name!r}): class names have no square '
                'brackets')
        class_to_idx[name] = index
        idx_to_class[index] = name
    return class_to_idx


def parse_ssv2_split(path: str,
                     class_to_idx: Dict[str, int],
                     ext: str = '.webm') -> List[Sample]:
    """Read ``something-something-v2-{train,validation}.json``.

    Args:
        path (str): The split JSON, a list of entries with ``id`` and
            ``template``.
        class_to_idx (dict[str, int]): From :func:`load_ssv2_labels`.
        ext (str): The videos' extension. Defaults to ``'.webm'``.

    Returns:
        list[Sample]: ``<id><ext>`` and its label, in file order.
    """
    data = _load_json(path, 'SSv2 split JSON')
    if not isinstance(data, list):
        raise AnnotationError(f'{path}: expected a list of entries, got a '
                              f'{type(data).__name__}')
    if not data:
        raise AnnotationError(
            f'{path}: is an empty list; expected an entry per video, such as '
            '{"id": "78687", "template": "..."}')
    samples = []
    for i, entry in enumerate(data):
        video_id = entry.get('id') if isinstance(entry, dict) else None
        if isinstance(video_id, int) and not isinstance(video_id, bool):
            # The owners write ids as strings; a number has been through
            # another tool, which may have changed more than the type.
            raise AnnotationError(
                f'{path}: entry {i}: "id" is the number {video_id}, expected '
                f'a string, such as "{video_id}" in the owners\' files')
        if not isinstance(video_id, str) or len(video_id.split()) != 1 \
                or video_id.strip() != video_id or '/' in video_id:
            raise AnnotationError(
                f'{path}: entry {i}: expected an object with a video "id" '
                f'(a string without spaces or "/"), got {entry!r:.200}')
        where = f'{path}: entry {i} (id {video_id!r})'
        template = entry.get('template')
        if not isinstance(template, str):
            # The owners' test JSON lists bare {"id": ...} entries.
            unlabelled = ('; an entry of only an "id" is one of the owners\' '
                          'unlabelled test set (something-something-v2-'
                          'test.json): give the train or validation JSON'
                          if set(entry) == {'id'} else '')
            raise AnnotationError(
                f'{where}: expected a "template" string, got '
                f'{template!r:.200}{unlabelled}')
        name = ssv2_template_to_class(template)
        if name not in class_to_idx:
            raise AnnotationError(
                f'{where}: template {template!r} (without brackets '
                f'{name!r}) is not a class of the labels JSON')
        samples.append(Sample(video_id + ext, class_to_idx[name], where))
    return samples


def build_ssv2_file_lists(train_json: str,
                          val_json: str,
                          labels_json: str,
                          out_dir: str,
                          video_dir: Optional[str] = None,
                          num_classes: int = SSV2_NUM_CLASSES,
                          ext: str = '.webm') -> Dict[str, AnnotationList]:
    """Write mmaction2 ``VideoDataset`` lists for SSv2 train and val.

    Everything is read and checked before anything is written. The outputs
    are ``sthv2_{train,val}_list_videos.txt`` (lines ``<id>.webm <label>``)
    and ``sthv2_label_map.txt`` (the class of label ``i`` on line ``i + 1``).

    Args:
        train_json (str): ``something-something-v2-train.json``.
        val_json (str): ``something-something-v2-validation.json``.
        labels_json (str): ``something-something-v2-labels.json``.
        out_dir (str): Where the lists go.
        video_dir (str, optional): If given, check that every listed video
            is a file in it. Defaults to None.
        num_classes (int): The number of classes the labels JSON must have.
            Defaults to 174.
        ext (str): The videos' extension. Defaults to ``'.webm'``.

    Returns:
        dict[str, AnnotationList]: ``'train'`` and ``'val'``.

    Examples:
        >>> ann = 'data/sthv2/annotations/something-something-v2-{}.json'
        >>> build_ssv2_file_lists(
        ...     ann.format('train'), ann.format('validation'),
        ...     ann.format('labels'), 'data/sthv2',
        ...     video_dir='data/sthv2/videos')
    """
    class_to_idx = load_ssv2_labels(labels_json, num_classes)
    splits = dict(
        train=parse_ssv2_split(train_json, class_to_idx, ext),
        val=parse_ssv2_split(val_json, class_to_idx, ext))
    everything: Sequence[Sample] = splits['train'] + splits['val']
    check_unique(everything, 'video')
    if video_dir is not None:
        check_files_exist(everything, video_dir, 'video')
    written = {
        split: write_annotation_list(
            osp.join(out_dir, SSV2_OUTPUT_FILES[split]), samples)
        for split, samples in splits.items()
    }
    classes = sorted(class_to_idx, key=class_to_idx.__getitem__)
    write_label_map(osp.join(out_dir, SSV2_OUTPUT_FILES['label_map']), classes)
    print_log(
        f'SSv2: {len(splits["train"])} train and {len(splits["val"])} val '
        f'videos of {num_classes} classes',
        logger='current')
    return written
