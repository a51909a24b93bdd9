# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Inputs and answers of inference: files in, test-pipeline outputs, class
names and JSON-ready answers out.

A video or image goes through its config's test pipeline
(``test_dataloader.dataset.pipeline``) as the test dataset would feed it, so
it gets the views ``tools/test.py`` gives it. A video's container is
checked first (:func:`~mmadaptformer.utils.video_containers.check_container`),
as the datasets check theirs: decord crashes the process on some truncated
files. A file that cannot be classified raises :class:`InferenceInputError`
naming it.
"""
import logging
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar

from mmadaptformer.datasets.label_map import LabelMapError, read_label_map
from mmadaptformer.utils.progress import progress_enabled
from mmadaptformer.utils.transform_steps import TransformError, run_transforms
from mmadaptformer.utils.video_containers import (BrokenVideoError,
                                                  check_container,
                                                  container_name,
                                                  one_line_error)
from .label_maps import config_class_names
from .test_pipeline import build_test_pipeline, test_pipeline_key

__all__ = [
    'VIDEO_EXTENSIONS', 'IMAGE_EXTENSIONS', 'InferenceInputError',
    'toolbox_of', 'class_names', 'collect_inputs', 'TestInputs',
    'format_scores', 'progress_bar'
]

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.webm', '.mkv', '.mov', '.m4v', '.mpg',
                    '.mpeg', '.flv', '.wmv', '.3gp', '.3g2', '.ts', '.mts',
                    '.m2ts', '.ogv', '.asf', '.vob')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif',
                    '.tiff', '.webp')
_TOOLBOXES = ('mmaction', 'mmpretrain')


class InferenceInputError(ValueError):
    """An input file cannot be classified; the message names the file."""


# The key of an error in the results: no task may be named so.
RESERVED_NAME = 'error'


def toolbox_of(cfg: Config, source: str = 'config') -> str:
    """``'mmaction'`` (videos) or ``'mmpretrain'`` (images), from the
    config's ``default_scope``.

    Args:
        cfg (Config): A model config.
        source (str): How the config is named in errors. Defaults to
            ``'config'``.

    Returns:
        str: The toolbox.
    """
    scope = cfg.get('default_scope', None)
    if scope not in _TOOLBOXES:
        raise ValueError(
            f'{source}: default_scope is {scope!r}, but inference needs '
            f'one of {_TOOLBOXES} (mmaction for video configs, mmpretrain '
            'for image configs).')
    return scope


def class_names(cfg: Config,
                label_map: Optional[str] = None,
                meta: Optional[dict] = None,
                num_classes: Optional[int] = None) -> Optional[List[str]]:
    """The class names of a model's scores.

    Looked up in this order: ``label_map`` (see :func:`read_label_map`),
    the checkpoint's ``meta['dataset_meta']['classes']`` (what MMEngine's
    Runner saves: the classes the model was trained on, as mmpretrain's
    Inferencers use them), then :func:`config_class_names`, which reads
    the data as it is now and may no longer match the model.

    Args:
        cfg (Config): The model's config.
        label_map (str, optional): A label map file. Defaults to None.
        meta (dict, optional): The checkpoint's ``meta``. Defaults to None.
        num_classes (int, optional): The head's number of classes, checked
            against the names. Defaults to None (not checked).

    Returns:
        list[str], optional: The names, or None when nothing names the
        classes or what does names another number of them than the head
        has (with a warning saying so).

    Raises:
        LabelMapError: If ``label_map`` has a blank line between names or
            names another number of classes than ``num_classes``. A label
            map the config names is not raised on: it gives no names and
            a warning saying why.
    """
    if label_map is not None:
        names = read_label_map(label_map)
        if num_classes is not None and len(names) != num_classes:
            raise LabelMapError(
                f'{label_map}: {len(names)} class names, but the model has '
                f'{num_classes} classes (one name per line, label 0 first).')
        return names
    dataset_meta = (meta or {}).get('dataset_meta') or {}
    saved = dataset_meta.get('classes')
    if isinstance(saved, str):
        # A checkpoint is data from elsewhere: a path in it is never opened
        # here (it would print a local file's lines as class names).
        print_log(
            f"The checkpoint's meta['dataset_meta']['classes'] is a file "
            f'path ({saved!r:.200}), which is not read; the classes are '
            'named from the config, or pass --label-map.',
            logger='current',
            level=logging.WARNING)
        saved = None
    if isinstance(saved, (list, tuple)) and saved:
        names = [str(c) for c in saved]
        origin = "the checkpoint's meta['dataset_meta']['classes']"
    else:
        origin = f'the test set of {cfg.filename or "the config"}'
        try:
            names = config_class_names(cfg)
        except LabelMapError as e:
            # Names are a courtesy here, as when they do not fit below:
            # the scores are still answered.
            print_log(
                f'{origin} names its classes with a label map that cannot '
                f'be used ({e}): the results give labels without names. '
                'Pass a label map file (--label-map) to name them.',
                logger='current',
                level=logging.WARNING)
            return None
    if names is not None and num_classes is not None and \
            len(names) != num_classes:
        print_log(
            f'{origin} names {len(names)} classes, but the model has '
            f'{num_classes}: the results give labels without names. Pass '
            'a label map file (--label-map) to name them.',
            logger='current',
            level=logging.WARNING)
        return None
    return names


_Path = Union[str, os.PathLike]


def _walk_once(folder: str):
    """``os.walk(folder)`` into symlinked folders too, each real folder
    once: a link to a folder already walked (a loop back up, or a second
    link to the same one) is not entered again."""
    seen = set()
    for root, dirs, names in os.walk(folder, followlinks=True):
        real = osp.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        yield root, names


def collect_inputs(paths: Union[_Path, Sequence[_Path]],
                   extensions: Optional[Sequence[str]] = None) -> List[str]:
    """Expand folders into their video and image files (sorted, recursive).

    Files are kept as given, whatever their extension, so that a missing or
    unreadable file gets its own error instead of disappearing. Folders
    are searched through symlinked subfolders too, each real folder once
    (a link loop ends). Files in a folder whose extension is neither in
    :data:`VIDEO_EXTENSIONS` nor in :data:`IMAGE_EXTENSIONS` are left out,
    with a warning that counts them; so are, given ``extensions``, the
    videos or images the models do not classify (the cover images in a
    folder of videos), in a warning of their own.

    Args:
        paths (str | os.PathLike | Sequence[str | os.PathLike]): One file
            or folder, or a sequence of them (what MMAction2's and
            MMPretrain's Inferencers take). A single path is one input,
            not a sequence of characters.
        extensions (Sequence[str], optional): The extensions of the files
            the models classify (:data:`VIDEO_EXTENSIONS`,
            :data:`IMAGE_EXTENSIONS`): a folder's files of other kinds are
            left out, and a folder without such a file is refused.
            Defaults to None (videos and images are kept).

    Returns:
        list[str]: Files, in the given order, folders expanded; every path
        a ``str``.

    Raises:
        TypeError: If ``paths`` or one of its items is neither a ``str``
            nor an ``os.PathLike`` of one (a sequence for ``paths``).
        InferenceInputError: If a folder holds no file with one of
            ``extensions``, naming it and them.
    """
    expected = 'a path (str or os.PathLike) or a sequence of paths'
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    elif isinstance(paths, (bytes, bytearray)) or \
            not isinstance(paths, Sequence):
        raise TypeError(f'inputs: expected {expected}, got '
                        f'{type(paths).__name__} {paths!r:.80}.')
    wanted = tuple(extensions) if extensions else \
        VIDEO_EXTENSIONS + IMAGE_EXTENSIONS
    files = []
    for index, item in enumerate(paths):
        path = os.fspath(item) if isinstance(item, os.PathLike) else item
        if not isinstance(path, str):
            raise TypeError(f'inputs[{index}]: expected {expected}, got '
                            f'{type(item).__name__} {item!r:.80}.')
        if osp.isdir(path):
            found, other_kind, skipped = [], [], []
            for root, names in _walk_once(path):
                for name in names:
                    lower = name.lower()
                    if lower.endswith(wanted):
                        kept = found
                    elif lower.endswith(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS):
                        kept = other_kind
                    else:
                        kept = skipped
                    kept.append(osp.join(root, name))
            files += sorted(found)
            if extensions and not found:
                kinds = ' or '.join(kind
                                    for kind, known in (('video',
                                                         VIDEO_EXTENSIONS),
                                                        ('image',
                                                         IMAGE_EXTENSIONS))
                                    if set(known) & set(extensions))
                raise InferenceInputError(
                    f'{path}: a folder without {kinds} files, in it or its '
                    f'subfolders (looked for {", ".join(extensions)}).')
            if other_kind:
                # A video folder's cover images (or an image folder's
                # clips) are not the models' inputs: each would be an
                # error and make the whole run fail.
                first = sorted(other_kind)[0]
                other = 'image' if first.lower().endswith(
                    IMAGE_EXTENSIONS) else 'video'
                print_log(
                    f'{path}: left out {len(other_kind)} {other} files, '
                    f'which these models do not classify, e.g. {first}.',
                    logger='current',
                    level=logging.WARNING)
            if skipped:
                print_log(
                    f'{path}: left out {len(skipped)} files whose '
                    'extension is not one of a video or an image, e.g. '
                    f'{sorted(skipped)[0]}.',
                    logger='current',
                    level=logging.WARNING)
        else:
            files.append(path)
    return files


class TestInputs:
    """Turn files into model inputs with a config's test pipeline.

    Args:
        cfg (Config): The config (its ``default_scope`` picks video or
            image inputs).
        source (str): How the config is named in errors.
    """

    def __init__(self, cfg: Config, source: str = 'config') -> None:
        self.toolbox = toolbox_of(cfg, source)
        self.pipeline = build_test_pipeline(cfg, self.toolbox, source)
        self.key = test_pipeline_key(cfg, source)
        self.extensions = (
            VIDEO_EXTENSIONS
            if self.toolbox == 'mmaction' else IMAGE_EXTENSIONS)

    @property
    def kind(self) -> str:
        return 'video' if self.toolbox == 'mmaction' else 'image'

    @property
    def a_kind(self) -> str:
        return 'a video' if self.toolbox == 'mmaction' else 'an image'

    def _not_a_container(self, path: str) -> str:
        """For a video that failed to decode: ``': it is no video file
        ...'`` if its first bytes match no known container (a text or
        image file renamed ``.mp4``), else ``''``."""
        if self.toolbox != 'mmaction':
            return ''
        with open(path, 'rb') as f:
            head = f.read(16)
        if container_name(head) is not None:
            return ''
        return (': its first bytes match no video container (AVI, MP4/MOV, '
                f'WebM/Matroska, MPEG, FLV, Ogg): {head!r}')

    def __call__(self, path: str) -> dict:
        """Load and transform one file.

        A video's container header is checked before decord opens it:
        decord crashes the process (segmentation fault) on some truncated
        files, where the header alone tells they are cut short.

        Args:
            path (str): A video or an image file.

        Returns:
            dict: The test pipeline's output.

        Raises:
            InferenceInputError: Naming the file, if it is missing, of the
                wrong kind, truncated or cannot be decoded.
        """
        if not osp.exists(path):
            raise InferenceInputError(f'{path}: no such file.')
        if osp.isdir(path):
            raise InferenceInputError(f'{path}: is a folder.')
        ext = osp.splitext(path)[1].lower()
        if ext not in self.extensions:
            # '.gif' is an image, but not one of those read here (nor by
            # mmpretrain's folder datasets).
            other = 'an image' if ext in IMAGE_EXTENSIONS else (
                'a video' if ext in VIDEO_EXTENSIONS else
                'neither a video nor an image this tool reads')
            raise InferenceInputError(
                f'{path}: is {other} (extension {ext!r}), but this model '
                f'classifies {self.kind}s; expected one of '
                f'{", ".join(self.extensions)}.')
        if self.toolbox == 'mmaction':
            try:
                check_container(path)
            except BrokenVideoError as e:
                why = str(e).removeprefix(f'{path}: ')
                raise InferenceInputError(
                    f'{path}: cannot be decoded as a video ({why}).') from e
            except OSError as e:
                raise InferenceInputError(
                    f'{path}: cannot be read ({type(e).__name__}: {e}).'
                ) from e
            data = dict(filename=path, label=-1, start_index=0, modality='RGB')
        else:
            data = dict(img_path=path)
        init_default_scope(self.toolbox)
        try:
            out = run_transforms(self.pipeline.transforms, data)
        except TransformError as e:
            if e.reads_file:
                raise InferenceInputError(
                    f'{path}: cannot be decoded as {self.a_kind}'
                    f'{self._not_a_container(path)} '
                    f'({one_line_error(e.error)}).') from e
            # Read and decoded: a later transform's settings (a crop larger
            # than the resized frames) fail on every input alike.
            raise InferenceInputError(
                f'{path}: after the {self.kind} was read, the test '
                f'pipeline\'s {e.describe(self.key)}. Check that transform\'s '
                'settings and those of the ones before it.') from e
        if out is None:
            raise InferenceInputError(
                f'{path}: the test pipeline dropped it (no {self.kind} '
                'data).')
        return out


def format_scores(scores: torch.Tensor,
                  classes: Optional[Sequence[str]]) -> dict:
    """One task's answer for one input, as it goes into the JSON.

    Scores that are not all finite (NaN or inf: weights a diverged run
    saved, or a damaged checkpoint) name no class: argmax would pick one
    at random and ``json.dump`` would write ``NaN``, which is no JSON. The
    answer is then an error that counts them.

    Args:
        scores (Tensor): Class scores, shape ``(num_classes, )``.
        classes (Sequence[str], optional): Class names.

    Returns:
        dict: ``{"label": int, "class": str or None, "scores": [float]}``,
        or ``{"error": message}`` if a score is NaN or infinite.
    """
    scores = scores.detach().float().cpu()
    bad = ~torch.isfinite(scores)
    if bad.any():
        nan = int(scores.isnan().sum())
        return dict(
            error=f'{int(bad.sum())} of the {scores.numel()} class scores '
            f'are not finite ({nan} NaN, {int(bad.sum()) - nan} inf), so '
            'they name no class: the checkpoint\'s weights (or the '
            'pretrained backbone\'s) hold NaN or inf, or overflow on this '
            'input.')
    label = int(scores.argmax())
    name = None
    if classes is not None and label < len(classes):
        name = classes[label]
    return dict(label=label, **{'class': name}, scores=scores.tolist())


def progress_bar(total: int) -> Optional[ProgressBar]:
    """An mmengine ProgressBar on stderr, or None when there is nothing to
    show: one input, or :func:`~mmadaptformer.utils.progress.progress_enabled`
    says no (stderr not a terminal, ``CI=true``, not rank 0).

    Args:
        total (int): Number of steps.
    """
    if total <= 1 or not progress_enabled(sys.stderr):
        return None
    return ProgressBar(total, file=sys.stderr)
