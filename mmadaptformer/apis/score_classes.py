# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The class names a model's scores are given in the answers of inference
(:func:`class_names`): a label map file, the checkpoint's
``dataset_meta``, or the config's test set."""
import logging
from typing import List, Optional

from mmengine.config import Config
from mmengine.logging import print_log

from mmadaptformer.datasets.label_map import LabelMapError, load_class_names
from mmadaptformer.utils.control_characters import escaped_names
from .label_maps import (config_class_names, warn_missing_label_map,
                         warn_numbered_names)

__all__ = ['class_names']


def class_names(cfg: Config,
                label_map: Optional[str] = None,
                meta: Optional[dict] = None,
                num_classes: Optional[int] = None,
                task: Optional[str] = None) -> Optional[List[str]]:
    """The class names of a model's scores.

    Looked up in this order: ``label_map`` (see
    :func:`~mmadaptformer.datasets.label_map.read_label_map`; a name given
    twice is refused, as the datasets refuse it; one whose every line
    starts with its index is warned of, once:
    :func:`.label_maps.numbered_names_note`),
    the checkpoint's ``meta['dataset_meta']['classes']`` (what MMEngine's
    Runner saves: the classes the model was trained on, as mmpretrain's
    Inferencers use them), then :func:`config_class_names`, which reads
    the data as it is now and may no longer match the model. A name
    given twice in either is warned of, as their other problems are: the
    checkpoint's list is passed over for the config's names, the config's
    gives no names.

    Args:
        cfg (Config): The model's config.
        label_map (str, optional): A label map file. Defaults to None.
        meta (dict, optional): The checkpoint's ``meta``. Defaults to None.
        num_classes (int, optional): The head's number of classes, checked
            against the names. Defaults to None (not checked).
        task (str, optional): The task of a
            :class:`~mmadaptformer.apis.MultiTaskRecognizer` whose names
            these are; its warnings start ``Task 'NAME': ``. Defaults to
            None (one model).

    Returns:
        list[str], optional: The names, or None when nothing names the
        classes or what does names another number of them than the head
        has (with a warning saying so). Their control characters (a
        terminal's escape sequences) are escaped
        (:func:`.escaped_names`).

    Raises:
        LabelMapError: If ``label_map`` has a blank line between names,
            a name twice (two labels would print alike; the message names
            the file, both lines and the name) or another number of
            classes than ``num_classes``. The checkpoint's classes and a
            label map the config names are not raised on: a warning says
            why they are not used.
    """
    of_task = '' if task is None else f'Task {task!r}: '
    if label_map is not None:
        # The datasets' reader: --label-map, ModelInferencer(label_map=)
        # and add_task(label_map=) all pass here.
        names = list(load_class_names(label_map, owner='label_map'))
        if num_classes is not None and len(names) != num_classes:
            raise LabelMapError(
                f'{label_map}: {len(names)} class names, but the model has '
                f'{num_classes} classes (one name per line, label 0 first).')
        warn_numbered_names(label_map, names, of_task)
        return escaped_names(names, label_map)
    dataset_meta = (meta or {}).get('dataset_meta') or {}
    saved = dataset_meta.get('classes')
    if isinstance(saved, str):
        # A checkpoint is data from elsewhere: a path in it is never opened
        # here (it would print a local file's lines as class names).
        _warn(f"{of_task}The checkpoint's meta['dataset_meta']['classes'] "
              f'is a file path ({saved!r:.200}), which is not read; the '
              'classes are named from the config, or pass --label-map.')
        saved = None
    names = None
    if isinstance(saved, (list, tuple)) and saved:
        names = _checkpoint_names(saved, of_task)
    if names is not None:
        origin = f"{of_task}the checkpoint's meta['dataset_meta']['classes']"
    else:
        origin = f'{of_task}the test set of {cfg.filename or "the config"}'
        try:
            names = config_class_names(cfg)
        except LabelMapError as e:
            # Names are a courtesy here, as when they do not fit below:
            # the scores are still answered.
            _warn(f'{origin} names classes that cannot be used ({e}): the '
                  'results give labels without names. Pass a label map file '
                  '(--label-map) to name them.')
            return None
        if names is None:
            warn_missing_label_map(cfg, origin)
    if names is not None and num_classes is not None and \
            len(names) != num_classes:
        _warn(f'{origin} names {len(names)} classes, but the model has '
              f'{num_classes}: the results give labels without names. Pass '
              'a label map file (--label-map) to name them.')
        return None
    return None if names is None else escaped_names(names, origin)


def _checkpoint_names(saved, of_task: str) -> Optional[List[str]]:
    """The checkpoint's ``meta['dataset_meta']['classes']`` as names; None,
    with a warning, if one is given twice (two labels would print alike):
    the config then names the classes, as for a file path there."""
    try:
        return list(
            load_class_names([str(c) for c in saved],
                             owner="meta['dataset_meta']['classes']"))
    except LabelMapError as e:
        _warn(f"{of_task}The checkpoint's classes cannot be used: {e} The "
              'classes are named from the config, or pass --label-map.')
        return None


def _warn(message: str) -> None:
    print_log(message, logger='current', level=logging.WARNING)
