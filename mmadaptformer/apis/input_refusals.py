# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Why a file or folder is no input of a config's test pipeline: a folder
for one that reads files, a video file for one that reads extracted frames,
a video that failed to decode whose first bytes are an image's or match no
container, an image that failed to decode because it was cut short or is
none. (A video file's container is checked by :func:`~mmadaptformer.utils.
unknown_containers.check_video_file`, as the datasets check theirs.)

:class:`~mmadaptformer.apis.inputs.TestInputs` asks :class:`InputRefusals`
before (or after) running its test pipeline; the pipeline's transforms are
read once, when it is built.
"""
import glob
import os
import os.path as osp
from typing import NoReturn, Optional, Sequence

from mmadaptformer.utils.image_files import image_damage
from mmadaptformer.utils.local_files import home_note, is_local
from mmadaptformer.utils.unknown_containers import (decord_reads_bytes,
                                                    not_a_video)
from mmadaptformer.utils.video_containers import CONTAINER_HEAD
from .frame_folders import VIDEO_OPENERS, FrameFolders
from .infer_files import InferenceInputError, OtherKindInputError

__all__ = ['InputRefusals', 'input_path_problem']


def input_path_problem(path: str) -> Optional[str]:
    """Why an input path cannot be read, else None: it is not there, or
    this user may not read it (a folder: list and enter it). An address
    (mmpretrain's ``ImageClassificationInferencer`` downloads one), a
    quoted pattern (the shell expands an unquoted one) and a link whose
    target is gone are named as such: as a missing file they read as a
    typo.

    Args:
        path (str): An input, as given.

    Returns:
        str | None: ``'PATH: no such file'`` and the like, without a full
        stop.
    """
    if osp.exists(path):
        mode = os.R_OK | os.X_OK if osp.isdir(path) else os.R_OK
        if os.access(path, mode):
            return None
        kind = 'folder' if osp.isdir(path) else 'file'
        return f'{path}: permission denied (this user cannot read the {kind})'
    if not is_local(path):
        return (f'{path}: is an address; inputs are local files or folders '
                '(or numpy arrays): download it first')
    matches = glob.glob(path) if glob.has_magic(path) else []
    if matches:
        return (f'{path}: no such file; as a pattern it matches '
                f'{len(matches)} files, but inputs are not expanded: leave '
                'the pattern unquoted for the shell to expand, or give their '
                'folder')
    if osp.islink(path):
        # `ls` lists it, so "no such file" reads as a bug.
        target = os.readlink(path)
        # A relative target is read from the link's folder.
        where = osp.normpath(osp.join(osp.dirname(path), target))
        also = '' if where == target else f' ({where})'
        return (f'{path}: a link to {target!r}{also}, which is not there '
                '(moved or deleted?); link it to the file, or give the file')
    return f'{path}: no such file{home_note(path)}'


class InputRefusals:
    """The refusals of one test pipeline's inputs.

    Args:
        toolbox (str): ``'mmaction'`` (video inputs) or ``'mmpretrain'``
            (image inputs).
        transforms (Sequence): The test pipeline's transforms.
        key (str): The pipeline's config key, named in errors.
        frames (FrameFolders, optional): How the test set names a clip's
            frames; None unless the pipeline reads extracted frames.
    """

    def __init__(self, toolbox: str, transforms: Sequence, key: str,
                 frames: Optional[FrameFolders]) -> None:
        self.toolbox = toolbox
        self.key = key
        self.frames = frames
        #: The transforms' type names, as the errors list them.
        self.types = [type(t).__name__ for t in transforms]
        #: Whether a transform opens video files (DecordInit and the like).
        self.opens_videos = any(name in VIDEO_OPENERS for name in self.types)
        #: Whether ``DecordInit`` hands decord a file's bytes (see
        #: :func:`~mmadaptformer.utils.unknown_containers.check_video_file`).
        self.decord_reads_bytes = decord_reads_bytes(transforms)

    def not_a_container(self, path: str) -> str:
        """For a video that failed to decode: ``': it is a PNG image, not
        a video'`` if its first bytes are an image format's
        (:func:`~mmadaptformer.utils.image_files.image_format`), ``': its
        first bytes match no video container ...'`` if they match no known
        container (a text file renamed ``.mp4``), else ``''``; for an image,
        :func:`~mmadaptformer.utils.image_files.image_damage` (a JPEG or
        PNG cut short, bytes of no image format)."""
        if self.toolbox != 'mmaction':
            return image_damage(path)
        with open(path, 'rb') as f:
            return not_a_video(f.read(CONTAINER_HEAD))

    def video_file(self, path: str) -> None:
        """Refuse a video file for a test pipeline that opens none: one
        of extracted frames (mmaction2's ``RawFrameDecode``, no
        ``DecordInit``/``OpenCVInit``/``PyAVInit``/``PIMSInit``) failed on
        every file with ``KeyError: 'total_frames'``, which read as a
        damaged video.

        Raises:
            OtherKindInputError: Naming the file, the pipeline's key and
                its transforms, unless a transform opens video files.
        """
        if self.opens_videos:
            return
        decode = next((name for name in self.types if name.endswith('Decode')),
                      None)
        reads = f' ({decode} reads extracted frames)' if decode else ''
        takes = 'a numpy array of frames goes through this one'
        if self.frames is not None:
            takes += (', and so does a folder of a clip\'s frames, named '
                      f'as {self.frames.filename_tmpl!r} names them')
        raise OtherKindInputError(
            f'{path}: the test pipeline ({self.key}: {self.types}) opens no '
            f'video file{reads}: a video file is classified with a pipeline '
            'that starts with DecordInit and decodes with DecordDecode, as '
            f'the recipes\' test pipelines do ({takes}).')

    def missing(self, path: str) -> NoReturn:
        """Refuse an input that is not there (see
        :func:`input_path_problem`).

        Raises:
            InferenceInputError: Naming the input.
        """
        raise InferenceInputError(
            (input_path_problem(path) or f'{path}: no such file') + '.')

    def folder(self, path: str) -> NoReturn:
        """Refuse a folder for a pipeline that reads files: it is no
        input of a config that decodes video files or reads images.

        Raises:
            InferenceInputError: Naming the folder (for a video config,
                :class:`OtherKindInputError`, naming the pipeline's key and
                its transforms too).
        """
        if self.toolbox != 'mmaction':
            raise InferenceInputError(
                f'{path}: is a folder; this model classifies image files.')
        reads = 'decodes video files' if self.opens_videos else \
            'reads no frames'
        raise OtherKindInputError(
            f'{path}: is a folder, but the test pipeline ({self.key}: '
            f'{self.types}) {reads}: a folder of extracted frames '
            'is classified with a config whose test pipeline reads them '
            "with RawFrameDecode, as MMAction2's rawframe configs do.")
