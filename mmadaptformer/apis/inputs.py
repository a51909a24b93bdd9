# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Inputs and answers of inference: files (and arrays, see
:mod:`~mmadaptformer.apis.array_inputs`) in, test-pipeline outputs and
JSON-ready answers out (the class names they give:
:mod:`~mmadaptformer.apis.score_classes`).

A video or image goes through its config's test pipeline
(``test_dataloader.dataset.pipeline``) as the test dataset would feed it, so
it gets the views ``tools/test.py`` gives it. A video's container is
checked first (:func:`~mmadaptformer.utils.unknown_containers.
check_video_file`), as the datasets check theirs: decord crashes the
process on some truncated files, and prints what it cannot open. A file
that cannot be classified raises :class:`InferenceInputError` naming it;
a good PNG image (or a folder of good PNG frames) that OpenCV cannot
decode in this process (decord imported before cv2) raises a
:class:`~mmadaptformer.utils.png_decoding.PngDecodingError` naming it and
the cause, which stops the call: every PNG would fail alike.
"""
import os.path as osp
import sys
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar

from mmadaptformer.utils.decord_failures import decord_explained
from mmadaptformer.utils.image_files import png_cut_short
from mmadaptformer.utils.png_decoding import (frame_png_decoding_error,
                                              png_decoding_error)
from mmadaptformer.utils.progress import progress_enabled
from mmadaptformer.utils.transform_steps import TransformError, run_transforms
from mmadaptformer.utils.unknown_containers import (UNDECODABLE,
                                                    check_video_file)
from mmadaptformer.utils.video_containers import (BrokenVideoError,
                                                  one_line_error)
from .array_inputs import ArrayPipeline, InputKey, collect_items
from .frame_folders import FrameFolders
from .infer_files import (IMAGE_EXTENSIONS, LIST_EXTENSIONS, VIDEO_EXTENSIONS,
                          InferenceInputError)
from .input_refusals import InputRefusals
from .test_pipeline import build_test_pipeline, test_pipeline_key

__all__ = ['toolbox_of', 'TestInputs', 'format_scores', 'progress_bar']

_TOOLBOXES = ('mmaction', 'mmpretrain')

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


class TestInputs:
    """Turn files (and arrays, :meth:`load`) into model inputs with a
    config's test pipeline.

    Given a config whose test pipeline reads extracted frames
    (``RawFrameDecode``), a folder of frames is one input, and a folder of
    such folders is its clips (:class:`~mmadaptformer.apis.frame_folders.
    FrameFolders`, :attr:`frames`).

    Args:
        cfg (Config): The config (its ``default_scope`` picks video or
            image inputs).
        source (str): How the config is named in errors.
    """

    #: Not a test class, whatever pytest makes of its name in a test module
    #: that imports it.
    __test__ = False

    def __init__(self, cfg: Config, source: str = 'config') -> None:
        self.toolbox = toolbox_of(cfg, source)
        self.pipeline = build_test_pipeline(cfg, self.toolbox, source)
        self.key = test_pipeline_key(cfg, source)
        self.extensions = (
            VIDEO_EXTENSIONS
            if self.toolbox == 'mmaction' else IMAGE_EXTENSIONS)
        self._cfg, self._source = cfg, source
        #: How the test set names a clip's frames; None unless the test
        #: pipeline reads extracted frames.
        self.frames: Optional[FrameFolders] = FrameFolders.of_config(
            cfg, source)
        self.refusals = InputRefusals(self.toolbox, self.pipeline.transforms,
                                      self.key, self.frames)
        # Built at the first array: a pipeline arrays cannot go through
        # still classifies files.
        self._arrays: Optional[ArrayPipeline] = None

    def items(self, inputs) -> List[Tuple[InputKey, Any]]:
        """The inputs of a call, keyed as the results name them: a file
        (or a clip's folder of frames) by its path, an array by its index
        (see :func:`~mmadaptformer.apis.array_inputs.collect_items`)."""
        collect = self.frames.collect if self.frames is not None else None
        return collect_items(inputs, self.toolbox, self.extensions, collect)

    def load(self, key: InputKey, item: Any) -> dict:
        """The test pipeline's output for one of :meth:`items`: a file
        (see :meth:`__call__`) or a checked array (see
        :class:`~mmadaptformer.apis.array_inputs.ArrayPipeline`)."""
        if not isinstance(item, np.ndarray):
            return self(item)
        if self._arrays is None:
            self._arrays = ArrayPipeline(self._cfg, self.toolbox, self.key,
                                         self._source)
        return self._arrays(f'inputs[{key}]', item)

    @property
    def kind(self) -> str:
        return 'video' if self.toolbox == 'mmaction' else 'image'

    @property
    def a_kind(self) -> str:
        return 'a video' if self.toolbox == 'mmaction' else 'an image'

    def __call__(self, path: str) -> dict:
        """Load and transform one file, or one clip's folder of frames.

        A video's container header is checked before decord opens it:
        decord crashes the process (segmentation fault) on some truncated
        files, where the header alone tells they are cut short. A folder of
        frames, for a config whose test pipeline reads them, is the sample
        ``RawframeDataset`` would give (:meth:`~mmadaptformer.apis.
        frame_folders.FrameFolders.sample`), its frames counted first.

        Args:
            path (str): A video or an image file, or a folder of frames.

        Returns:
            dict: The test pipeline's output.

        Raises:
            InferenceInputError: Naming the file, if it is missing, of the
                wrong kind, truncated or cannot be decoded (a video file for
                a pipeline that reads frames, or a folder for one that
                decodes videos: :class:`OtherKindInputError`); naming the
                folder, if the pipeline reads no frames, or its frames are
                not there, not contiguous or cannot be read.
            PngDecodingError: Naming the image, if it is a PNG that Pillow
                decodes and OpenCV cannot decode PNG images in this
                process.
        """
        if not osp.exists(path):
            self.refusals.missing(path)
        if osp.isdir(path):
            if self.frames is None:
                self.refusals.folder(path)
            return self._transform(path, self.frames.sample(path), 'frames')
        ext = osp.splitext(path)[1].lower()
        if ext not in self.extensions:
            # '.gif' is an image, but not one of those read here (nor by
            # mmpretrain's folder datasets).
            other = 'an image' if ext in IMAGE_EXTENSIONS else (
                'a video' if ext in VIDEO_EXTENSIONS else
                'neither a video nor an image this tool reads')
            if self.frames is not None and ext in IMAGE_EXTENSIONS:
                # One of a clip's frames (img_00001.jpg) given for its clip.
                raise InferenceInputError(
                    f'{path}: is an image, but this model classifies clips '
                    'given as folders of frames (its test pipeline reads '
                    'them with RawFrameDecode); give the folder that holds '
                    f'a clip\'s frames, e.g. {osp.dirname(path) or "."}.')
            # A list of inputs given as one: the way to read it as a list.
            hint = '' if ext not in LIST_EXTENSIONS else (
                ' If it lists the inputs, one a line, classify the paths it '
                'names: inputs=mmadaptformer.apis.read_input_list('
                f'{path!r}) in Python, --list {path} in tools/infer.py.')
            raise InferenceInputError(
                f'{path}: is {other} (extension {ext!r}), but this model '
                f'classifies {self.kind}s; expected one of '
                f'{", ".join(self.extensions)}.{hint}')
        if self.toolbox == 'mmaction':
            self.refusals.video_file(path)
        if osp.getsize(path) == 0:
            # OpenCV's decoder failed with an assertion on the empty buffer.
            raise InferenceInputError(f'{path}: is empty (0 bytes).')
        if self.toolbox == 'mmaction':
            try:
                check_video_file(
                    path, open_with_decord=self.refusals.decord_reads_bytes)
            except BrokenVideoError as e:
                why = str(e).removeprefix(f'{path}: ')
                if not why.startswith(UNDECODABLE):
                    why = f'{UNDECODABLE} ({why})'
                raise InferenceInputError(f'{path}: {why}.') from e
            except OSError as e:
                raise InferenceInputError(
                    f'{path}: cannot be read ({type(e).__name__}: {e}).'
                ) from e
            data = dict(filename=path, label=-1, start_index=0, modality='RGB')
        else:
            cut = png_cut_short(path)
            if cut is not None:
                # Not given to OpenCV, which fails on it with a line of its
                # own on stderr besides this error.
                raise InferenceInputError(
                    f'{path}: cannot be decoded as an image{cut}.')
            data = dict(img_path=path)
        return self._transform(path, data, self.kind)

    def _transform(self, path: str, data: dict, kind: str) -> dict:
        """The test pipeline's output for the sample ``data`` of the file
        or frame folder ``path``; ``kind`` names what it reads (``'video'``,
        ``'image'``, ``'frames'``) in errors."""
        init_default_scope(self.toolbox)
        try:
            out = run_transforms(self.pipeline.transforms, data)
        except TransformError as e:
            if e.reads_file and kind == 'frames':
                # RawFrameDecode's input: SampleFrames set its frame_inds.
                png_error = frame_png_decoding_error(data)
                if png_error is not None:
                    raise png_error from e
                raise InferenceInputError(f'{path}: its frames cannot be read '
                                          f'({e.describe(self.key)}).') from e
            if e.reads_file and kind == 'image':
                png_error = png_decoding_error(path)
                if png_error is not None:
                    raise png_error from e
            decord = None
            if e.reads_file and kind == 'video':
                decord = decord_explained(path, e.error,
                                          one_line_error(e.error))
            if decord is not None:
                raise InferenceInputError(f'{path}: {decord}.') from e
            if e.reads_file:
                raise InferenceInputError(
                    f'{path}: cannot be decoded as {self.a_kind}'
                    f'{self.refusals.not_a_container(path)} '
                    f'({one_line_error(e.error)}).') from e
            # Read and decoded: a later transform's settings (a crop larger
            # than the resized frames) fail on every input alike.
            raise InferenceInputError(
                f'{path}: after the {kind} '
                f'{"were" if kind == "frames" else "was"} read, the test '
                f'pipeline\'s {e.describe(self.key)}. Check that transform\'s '
                'settings and those of the ones before it.') from e
        if out is None:
            raise InferenceInputError(
                f'{path}: the test pipeline dropped it (no {kind} data).')
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
