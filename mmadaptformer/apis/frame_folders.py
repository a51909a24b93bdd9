# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Folders of extracted frames as inputs of a rawframe-trained model.

A model trained with an MMAction2 ``RawframeDataset`` config reads a clip
as a folder of frames (``rawframes/<video>/img_00001.jpg``, ...), its test
pipeline sampling them (``SampleFrames``) and reading them
(``RawFrameDecode``). Given such a config, a folder that holds frames named
as the test dataset's ``filename_tmpl`` names them is one clip, and a
folder of such folders is its clips (:meth:`FrameFolders.collect`). A clip
becomes the sample ``RawframeDataset`` would give for a line
``<frame_dir> <total_frames> <label>`` (:meth:`FrameFolders.sample`):
its frames are counted, contiguous from the dataset's ``start_index``, and
the test pipeline itself reads them, as mmaction2's ``inference_recognizer``
reads the ``frame_dir`` dict it is given.
"""
import logging
import os
import os.path as osp
import re
from string import Formatter
from typing import Any, List, Optional, Sequence, Set

from mmengine.config import Config
from mmengine.logging import print_log

from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.counted import counted
from .infer_files import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS,
                          InferenceInputError, OtherKindInputError,
                          check_paths, each_once, walk_once, warn_hidden)
from .test_pipeline import test_pipeline_cfg, test_pipeline_key

__all__ = [
    'VIDEO_OPENERS', 'FRAME_DECODES', 'pipeline_types', 'decodes_frames',
    'FrameFolders'
]

#: mmaction2's transforms that open a video file for the decode after them.
VIDEO_OPENERS = ('DecordInit', 'OpenCVInit', 'PyAVInit', 'PIMSInit')
#: mmaction2's transforms that read a clip's extracted frames.
FRAME_DECODES = ('RawFrameDecode', )

#: What ``RawframeDataset`` takes when the config does not say.
_DEFAULTS = dict(filename_tmpl='img_{:05}.jpg', start_index=1, modality='RGB')


def pipeline_types(pipeline: Sequence) -> List[str]:
    """The transform names of a pipeline config, without a scope
    (``'mmaction.RawFrameDecode'`` is ``'RawFrameDecode'``)."""
    names = []
    for step in pipeline:
        kind = step.get('type', '') if isinstance(step, dict) else step
        kind = kind if isinstance(kind, str) else getattr(
            kind, '__name__', str(kind))
        names.append(kind.rsplit('.', 1)[-1])
    return names


def decodes_frames(cfg: Config, source: str = 'config') -> bool:
    """Whether a video config's test pipeline reads extracted frames: it
    has a ``RawFrameDecode`` step and opens no video file
    (:data:`VIDEO_OPENERS`).

    Raises:
        ConfigError: If the config has no test pipeline.
    """
    if cfg.get('default_scope') != 'mmaction':
        return False
    types = pipeline_types(test_pipeline_cfg(cfg, source))
    return any(t in FRAME_DECODES for t in types) and \
        not any(t in VIDEO_OPENERS for t in types)


def _node_at(cfg: Config, key: str) -> Any:
    """The config value at a key such as
    ``'test_dataloader.dataset.datasets[1]'``, or None."""
    node: Any = cfg
    for name, index in re.findall(r'([^.\[\]]+)|\[(\d+)\]', key):
        if name and isinstance(node, (dict, Config)):
            node = node.get(name)
        elif index and isinstance(node, (list, tuple)) and \
                int(index) < len(node):
            node = node[int(index)]
        else:
            return None
    return node


class FrameFolders:
    """How a rawframe config's test set names a clip's frames, and its
    folders turned into test samples.

    Args:
        filename_tmpl (str): A frame's file name, formatted with its index
            (``'img_{:05}.jpg'``; for optical flow, with ``'x'`` or ``'y'``
            first: ``'{}_{:05d}.jpg'``). Defaults to ``'img_{:05}.jpg'``.
        start_index (int): The index of a clip's first frame. Defaults to
            1.
        modality (str): ``'RGB'`` or ``'Flow'``. Defaults to ``'RGB'``.
        where (str): Where these come from, for errors (the dataset's
            config key). Defaults to ``'the test dataset'``.

    Raises:
        ConfigError: If ``filename_tmpl`` does not format a frame's index
            (one field; two for ``'Flow'``), or ``start_index`` is not an
            int >= 0, naming ``where``.
    """

    def __init__(self,
                 filename_tmpl: str = _DEFAULTS['filename_tmpl'],
                 start_index: int = _DEFAULTS['start_index'],
                 modality: str = _DEFAULTS['modality'],
                 where: str = 'the test dataset') -> None:
        self.filename_tmpl = filename_tmpl
        self.start_index = start_index
        self.modality = modality
        self.where = where
        if modality not in ('RGB', 'Flow'):
            raise ConfigError(f'{where}.modality is {modality!r}; '
                              "RawFrameDecode reads 'RGB' or 'Flow' frames.")
        if isinstance(start_index, bool) or \
                not isinstance(start_index, int) or start_index < 0:
            raise ConfigError(f'{where}.start_index is {start_index!r}; '
                              'expected an int >= 0.')
        fields = 2 if modality == 'Flow' else 1
        try:
            parsed = list(Formatter().parse(filename_tmpl))
            given = sum(field is not None for _, field, _, _ in parsed)
            self.frame_name(start_index)
        except (TypeError, ValueError, IndexError, AttributeError) as e:
            given = e
        if given != fields:
            got = (f'fails: {type(given).__name__}: {given}' if isinstance(
                given, Exception) else f'has {given} fields')
            raise ConfigError(
                f'{where}.filename_tmpl {filename_tmpl!r} {got}; expected a '
                f'file name with {fields} field{"s" if fields > 1 else ""} '
                "for the frame's index"
                f'{" after x or y" if fields > 1 else ""}, as '
                f"{_DEFAULTS['filename_tmpl']!r}.")
        pattern, seen = '', 0
        for literal, field, spec, conversion in parsed:
            pattern += re.escape(literal)
            if field is None:
                continue
            seen += 1
            # Flow's first field is the direction: 'x' names a frame.
            pattern += re.escape(format('x', spec)) if seen < fields \
                else r'(\d+)'
        self._pattern = re.compile(pattern + r'\Z')

    @classmethod
    def of_config(cls,
                  cfg: Config,
                  source: str = 'config') -> Optional['FrameFolders']:
        """The frame naming of a config whose test pipeline reads frames
        (:func:`decodes_frames`), from its test dataset (the one that holds
        the test pipeline), ``RawframeDataset``'s defaults where it says
        nothing; None for another config.

        Raises:
            ConfigError: As the constructor, naming the config and key.
        """
        if not decodes_frames(cfg, source):
            return None
        key = test_pipeline_key(cfg, source)
        # The dataset that holds it; for the top-level test_pipeline, the
        # test dataloader's.
        key = key[:-len('.pipeline')] if key.endswith('.pipeline') else \
            'test_dataloader.dataset'
        dataset = _node_at(cfg, key)
        dataset = dataset if isinstance(dataset, dict) else {}
        args = {
            name: dataset.get(name, default)
            for name, default in _DEFAULTS.items()
        }
        return cls(**args, where=f'{source}: {key}')

    def frame_name(self, index: int, direction: str = 'x') -> str:
        """The file ``RawFrameDecode`` reads for frame ``index`` (its
        ``direction`` component, for optical flow)."""
        if self.modality == 'Flow':
            return self.filename_tmpl.format(direction, index)
        return self.filename_tmpl.format(index)

    def _indices(self, folder: str) -> Set[int]:
        """The indices of the frames in ``folder`` (for optical flow, those
        with both components)."""
        try:
            names = set(os.listdir(folder))
        except OSError as e:
            raise InferenceInputError(
                f'{folder}: cannot be listed ({type(e).__name__}: {e}).'
            ) from e
        found = set()
        for name in names:
            match = self._pattern.match(name)
            if match is None:
                continue
            index = int(match.group(1))
            # The round trip: 'img_1.jpg' is not what 'img_{:05}.jpg' names.
            if self.frame_name(index) == name and (self.modality != 'Flow'
                                                   or self.frame_name(
                                                       index, 'y') in names):
                found.add(index)
        return found

    def holds_frames(self, folder: str) -> bool:
        """Whether ``folder`` holds a frame named as the template names
        them (it is a clip, not a folder of clips)."""
        return bool(self._indices(folder))

    @property
    def key(self) -> tuple:
        """What tells two namings apart: ``(filename_tmpl, start_index,
        modality)``."""
        return (self.filename_tmpl, self.start_index, self.modality)

    def named(self) -> str:
        """The template and start index, and where they come from, as the
        errors name them."""
        return (f'filename_tmpl {self.filename_tmpl!r} from {self.where}'
                f', start_index {self.start_index}')

    def count(self, folder: str) -> int:
        """The frames of a clip folder, contiguous from ``start_index``.

        Raises:
            InferenceInputError: If it holds no frame named as the template
                names them (:class:`~mmadaptformer.apis.infer_files.
                OtherKindInputError`), or they are not contiguous from
                ``start_index`` (a gap, or frames before it), naming the
                folder, the template and the first missing index.
        """
        indices = self._indices(folder)
        first = self.frame_name(self.start_index)
        if not indices:
            raise OtherKindInputError(
                f'{folder}: holds no frames named as {self.named()} gives '
                f'them (expected {first}, ...).')
        low = min(indices)
        if low < self.start_index:
            raise InferenceInputError(
                f'{folder}: holds frame {low} ({self.frame_name(low)}), '
                f'before the first frame of {self.named()}; frames '
                f'numbered from {low} are read with start_index={low}.')
        total = 0
        while self.start_index + total in indices:
            total += 1
        if total < len(indices):
            missing = self.start_index + total
            what = 'is missing' if self.modality == 'RGB' else \
                'or its y component is missing'
            raise InferenceInputError(
                f'{folder}: its frames, named as {self.named()}, are not '
                f'contiguous: frame {missing} ({self.frame_name(missing)}) '
                f'{what}, but {len(indices) - total} frames after it are '
                f'there (up to {self.frame_name(max(indices))}).')
        return total

    def sample(self, folder: str) -> dict:
        """What ``RawframeDataset`` gives its test pipeline for the line
        ``<folder> <total_frames> -1``.

        Raises:
            InferenceInputError: As :meth:`count`.
        """
        return dict(
            frame_dir=folder,
            total_frames=self.count(folder),
            filename_tmpl=self.filename_tmpl,
            start_index=self.start_index,
            modality=self.modality,
            label=-1)

    def collect(self, paths: Any) -> List[str]:
        """Expand folders into their clip folders.

        A folder that holds frames (:meth:`holds_frames`) is one clip;
        another is searched, as
        :func:`~mmadaptformer.apis.infer_files.collect_inputs` searches
        for files (recursively, through symlinked folders, hidden ones left
        out with a warning that counts them), for the folders that do,
        each a clip (its own subfolders are not searched), in sorted order.
        Files are kept as given, so that each gets its own error.

        Args:
            paths (str | os.PathLike | Sequence): One path or a sequence of
                them.

        Returns:
            list[str]: Clip folders and files, in the given order, each
            once (a repeat left out, with a warning).

        Raises:
            TypeError: As :func:`~mmadaptformer.apis.infer_files.
                collect_inputs`.
            InferenceInputError: If a folder holds no clip, naming it and
                the template.
        """
        found = []
        for path in check_paths(paths):
            if not osp.isdir(path):
                found.append(path)
                continue
            if self.holds_frames(path):
                found.append(path)
                continue
            clips, videos, images, hidden = [], [], [], []

            def is_clip(folder: str) -> bool:
                # walk_once asks once per subfolder: a clip is not entered.
                if self.holds_frames(folder):
                    clips.append(folder)
                    return True
                return False

            for root, names in walk_once(path, hidden, stop=is_clip):
                # A clip folder is yielded (not entered): its names are its
                # frames.
                in_clip = bool(clips) and clips[-1] == root
                for name in names:
                    lower = name.lower()
                    if lower.endswith(VIDEO_EXTENSIONS):
                        videos.append(osp.join(root, name))
                    elif lower.endswith(IMAGE_EXTENSIONS) and not in_clip:
                        images.append(osp.join(root, name))
            if not clips:
                raise InferenceInputError(
                    f'{path}: holds no frames named as {self.named()} '
                    f'gives them (expected {self.frame_name(self.start_index)}'
                    ', ...), in it or its subfolders; this model\'s test '
                    'pipeline reads extracted frames (RawFrameDecode): give '
                    "a folder of one clip's frames, or a folder of such "
                    'folders.')
            found += sorted(clips)
            # Skipped, as the datasets' lists never name them (a Mac's
            # '._img_00001.jpg', '.ipynb_checkpoints'), but said.
            warn_hidden(path, hidden)
            if videos:
                print_log(
                    f'{path}: left out {counted(len(videos), "video files")}'
                    ", which this model's test pipeline does not read (it "
                    f'reads extracted frames), e.g. {sorted(videos)[0]}.',
                    logger='current',
                    level=logging.WARNING)
            if images:
                # Frames extracted under another name (img_00001.png,
                # IMG_00001.JPG, frame_0001.jpg): their clips are not
                # classified, which went unsaid.
                print_log(
                    f'{path}: left out {counted(len(images), "image files")}'
                    f' outside clip folders, e.g. {sorted(images)[0]}: a '
                    f'clip folder holds frames named as {self.named()} '
                    f'gives them ({self.frame_name(self.start_index)}, ...).',
                    logger='current',
                    level=logging.WARNING)
        return each_once(found, 'clip folders or files')
