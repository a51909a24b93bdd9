# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What :class:`~mmadaptformer.datasets.CheckedVideoDataset` says about one
sample it cannot use: a video its evaluation pipeline fails on, and a video
shorter than a clip with ``short_videos='skip'`` or ``'error'``.

Each error names the video and its annotation line
(:func:`describe_video`), and what to do about it.
"""
from mmadaptformer.utils.decord_failures import decord_explained
from mmadaptformer.utils.transform_steps import (PipelineStepError,
                                                 TransformError)
from mmadaptformer.utils.video_containers import (BrokenVideoError,
                                                  one_line_error)
from .short_videos import ShortVideoError

__all__ = ['describe_video', 'evaluation_load_error', 'short_video_error']


def describe_video(info: dict) -> str:
    """``path (file:line)``: a sample's video and its annotation line.

    Args:
        info (dict): The sample's data info, with ``filename`` and
            ``source`` (as :func:`~.video_list.parse_video_list` makes
            them).

    Returns:
        str: The description.
    """
    return f'{info["filename"]} ({info["source"]})'


def evaluation_load_error(described: str, filename: str,
                          error: Exception) -> RuntimeError:
    """The error for a test-mode video the pipeline fails on.

    Args:
        described (str): The video and its line (:func:`describe_video`).
        filename (str): The video.
        error (Exception): What loading it raised.

    Returns:
        RuntimeError: A :class:`PipelineStepError` if a transform failed
        after the loading ones had read the video (not the file's fault),
        else a :class:`BrokenVideoError`, which says what to do with the
        file (decord's known failures explained,
        :func:`~mmadaptformer.utils.decord_failures.decord_explained`).
    """
    if isinstance(error, TransformError) and not error.reads_file:
        return PipelineStepError.in_evaluation(described, error)
    if isinstance(error, TransformError):
        error = error.error
    decord = decord_explained(filename, error, one_line_error(error))
    if decord is not None:
        return BrokenVideoError(
            f'Cannot load {described} for evaluation: {decord}.')
    return BrokenVideoError(
        f'Cannot load {described} for evaluation: '
        f'{one_line_error(error)}. Replace the file, remove it from the '
        'annotation list, or set skip_broken=True to drop broken videos '
        'when the dataset is built.')


def short_video_error(described: str, filename: str, num_frames: int,
                      min_frames: int, short_videos: str,
                      min_frames_given: bool) -> ShortVideoError:
    """The error for a video with fewer frames than ``min_frames``.

    Args:
        described (str): The video and its line (:func:`describe_video`).
        filename (str): The video.
        num_frames (int): Its frames.
        min_frames (int): The fewest frames a video must have.
        short_videos (str): The dataset's ``short_videos``, ``'skip'`` or
            ``'error'``.
        min_frames_given (bool): Whether ``min_frames`` was set, not
            derived from the pipeline's clip span.

    Returns:
        ShortVideoError: The error, with what to set instead.
    """
    source = ('min_frames'
              if min_frames_given else "the pipeline's clip span, min_frames")
    return ShortVideoError(
        f'{described} has {num_frames} frames, fewer than '
        f'{source}={min_frames} (short_videos={short_videos!r}). Set '
        "short_videos='report' to use it with repeated frames, 'skip' to "
        'leave it out, or remove it from the annotation list.', filename,
        num_frames, min_frames)
