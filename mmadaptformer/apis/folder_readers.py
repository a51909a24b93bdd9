# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Folders expanded for several models at once: those that read files
(videos or images) and those that read clips as folders of extracted frames
(rawframe configs, :class:`~mmadaptformer.apis.frame_folders.FrameFolders`).

Multi-task inference may mix them on one backbone: a task trained on
video files and one trained on a ``RawframeDataset``. A folder given then
holds the inputs of either: its clip folders and its video files, in one
sorted order that does not depend on which task was added first. Each task
answers what its own test pipeline reads; for the other kind, that task's
answer is ``{"skipped": why}`` (:class:`~mmadaptformer.apis.infer_files.
OtherKindInputError`), no failure, unless no task reads it.
"""
import logging
import os.path as osp
from typing import Any, List, Optional, Sequence

from mmengine.logging import print_log

from .frame_folders import FrameFolders
from .infer_files import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS,
                          InferenceInputError, check_paths, collect_inputs,
                          each_once, walk_once, warn_hidden)

__all__ = ['FolderReaders']


class FolderReaders:
    """How the models of one call read folders: the frame namings of those
    that read extracted frames, and the extensions of those that read
    files.

    With one kind of reader, a folder is expanded as for one model
    (:func:`~mmadaptformer.apis.infer_files.collect_inputs`, or
    :meth:`FrameFolders.collect` for one frame naming); with both, or with
    several frame namings, by :meth:`collect`'s own walk.

    Args:
        frames (Sequence[FrameFolders]): The frame namings of the models
            that read extracted frames. Defaults to ().
        extensions (Sequence[str]): The extensions of the files the other
            models read (:data:`VIDEO_EXTENSIONS`, :data:`IMAGE_EXTENSIONS`).
            Defaults to ().
        expand (bool): Whether folders are expanded at all. False keeps
            each path as given, for models none of which can say what they
            read (their configs cannot be read): a folder is then one
            input, which gets their errors, not its frames as images.
            Defaults to True.
    """

    def __init__(self,
                 frames: Sequence[Optional[FrameFolders]] = (),
                 extensions: Sequence[str] = (),
                 expand: bool = True) -> None:
        unique = {}
        for naming in frames:
            if naming is not None:
                unique.setdefault(naming.key, naming)
        self.frames: List[FrameFolders] = list(unique.values())
        self.extensions = tuple(dict.fromkeys(extensions))
        self.expand = expand

    def is_clip(self, folder: str) -> bool:
        """Whether ``folder`` holds frames named as one of :attr:`frames`
        names them."""
        return any(naming.holds_frames(folder) for naming in self.frames)

    def collect(self, paths: Any) -> List[str]:
        """Expand folders into the inputs the models read.

        Args:
            paths (str | os.PathLike | Sequence): One path or a sequence of
                them.

        Returns:
            list[str]: Files and clip folders, in the given order, each
            folder's in sorted order, each once.

        Raises:
            TypeError: As :func:`~mmadaptformer.apis.infer_files.
                collect_inputs`.
            InferenceInputError: If a folder holds nothing any model reads,
                naming it, the frame namings and the extensions.
        """
        if not self.expand:
            return each_once(check_paths(paths), 'inputs')
        if not self.frames:
            return collect_inputs(paths, self.extensions or None)
        if len(self.frames) == 1 and not self.extensions:
            return self.frames[0].collect(paths)
        found = []
        for path in check_paths(paths):
            if not osp.isdir(path) or self.is_clip(path):
                found.append(path)
            else:
                found += self._walk(path)
        return each_once(found, 'clip folders or files')

    def _walk(self, path: str) -> List[str]:
        """The clip folders and files in the folder ``path``, sorted."""
        clips, files, other, hidden = [], [], [], []

        def is_clip(folder: str) -> bool:
            if self.is_clip(folder):
                clips.append(folder)
                return True
            return False

        for root, names in walk_once(path, hidden, stop=is_clip):
            in_clip = bool(clips) and clips[-1] == root
            for name in names:
                lower = name.lower()
                if in_clip and lower.endswith(IMAGE_EXTENSIONS):
                    continue  # the clip's frames
                if lower.endswith(self.extensions):
                    files.append(osp.join(root, name))
                elif lower.endswith(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS):
                    other.append(osp.join(root, name))
        if not clips and not files:
            namings = ' or '.join(
                f'named as {naming.named()} gives them (expected '
                f'{naming.frame_name(naming.start_index)}, ...)'
                for naming in self.frames)
            raise InferenceInputError(
                f'{path}: holds neither a clip folder of frames {namings} '
                f'nor a file with one of {", ".join(self.extensions)}, in '
                'it or its subfolders; the tasks read extracted frames '
                '(RawFrameDecode) or those files.')
        if other:
            print_log(
                f'{path}: left out {len(other)} video or image files outside '
                'clip folders, which these models do not read, e.g. '
                f'{sorted(other)[0]}.',
                logger='current',
                level=logging.WARNING)
        warn_hidden(path, hidden)
        return sorted(clips + files)
