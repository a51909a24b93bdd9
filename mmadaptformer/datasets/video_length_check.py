# Copyright (c) mmadaptformer contributors. All rights reserved.
"""How many frames a video of :class:`~mmadaptformer.datasets.
CheckedVideoDataset` must have (:func:`resolve_min_frames`), and the
pipeline run that checks them as soon as they are counted
(:func:`run_checking_length`), before any frame is decoded."""
from typing import Callable, List, Optional, Sequence

from mmadaptformer.utils.transform_steps import run_transform
from mmadaptformer.utils.video_containers import BrokenVideoError
from .short_videos import SHORT_VIDEOS_KEY, ShortVideo, clip_frames
from .video_sample_errors import short_video_error

__all__ = ['resolve_min_frames', 'run_checking_length']


def resolve_min_frames(min_frames: Optional[int], transforms: Sequence,
                       short_videos: str, ann_file: str) -> Optional[int]:
    """``min_frames`` as given, else the frames one clip of the pipeline
    spans (:func:`~.short_videos.clip_frames`).

    Args:
        min_frames (int, optional): The dataset's ``min_frames`` argument.
        transforms (Sequence): The built pipeline's transforms.
        short_videos (str): The dataset's ``short_videos``.
        ann_file (str): The annotation list, for the error.

    Returns:
        int | None: The fewest frames a video must have; None if it is not
        checked (no sampler to derive it from, ``short_videos='report'``).

    Raises:
        ValueError: If ``short_videos`` is ``'skip'`` or ``'error'`` and
            there is neither ``min_frames`` nor a sampler to derive it from.
    """
    if min_frames is not None:
        return min_frames
    frames = clip_frames(transforms)
    if frames is None and short_videos != 'report':
        raise ValueError(
            f'CheckedVideoDataset ({ann_file}): short_videos='
            f'{short_videos!r} needs min_frames, and the pipeline '
            'has no SampleFrames or UniformSample to derive it from; '
            'set min_frames')
    return frames


def run_checking_length(transforms: Sequence, results: dict,
                        min_frames: Optional[int], short_videos: str,
                        describe: Callable[[], str],
                        min_frames_given: bool) -> Optional[dict]:
    """Run ``transforms`` on one sample, checking the video's frames once
    a transform has counted them (``total_frames``, set by ``DecordInit``).

    Args:
        transforms (Sequence): The built pipeline's transforms.
        results (dict): The sample's data info.
        min_frames (int, optional): The fewest frames a video must have
            (:func:`resolve_min_frames`); None or 0: not checked.
        short_videos (str): ``'report'``, ``'skip'`` or ``'error'``.
        describe (Callable[[], str]): The video and its annotation line,
            for the error.
        min_frames_given (bool): Whether ``min_frames`` was set, not
            derived from the pipeline.

    Returns:
        dict | None: The pipeline's output, its data sample's metainfo
        listing the video under ``'short_videos'`` if it is short; None if
        a transform rejected the sample.

    Raises:
        BrokenVideoError: If the video has no frames.
        ShortVideoError: If it is short and ``short_videos`` is not
            ``'report'``.
    """
    filename = results['filename']
    short: List[ShortVideo] = []
    length_checked = False
    for index, transform in enumerate(transforms):
        results = run_transform(index, transform, results)
        if results is None:
            return None
        num_frames = results.get('total_frames')
        if num_frames == 0:
            raise BrokenVideoError(
                f'{results["filename"]}: the video has no frames')
        if num_frames is not None and not length_checked:
            length_checked = True
            if min_frames and num_frames < min_frames:
                if short_videos != 'report':
                    raise short_video_error(describe(), filename,
                                            int(num_frames), min_frames,
                                            short_videos, min_frames_given)
                short.append((filename, int(num_frames), min_frames))
    samples = results.get('data_samples')
    if hasattr(samples, 'set_metainfo'):
        samples.set_metainfo({SHORT_VIDEOS_KEY: short})
    return results
