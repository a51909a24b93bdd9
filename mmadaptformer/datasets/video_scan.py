# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Scan the videos of a parsed annotation list up front and drop the broken
or short ones.

:class:`~mmadaptformer.datasets.CheckedVideoDataset` does it in test mode,
with ``skip_broken=True`` (videos that fail
:func:`~mmadaptformer.utils.video_probe.scan_video`) or
``short_videos='skip'`` (videos with fewer frames than ``min_frames``); a
WARNING lists what was dropped.
"""
import logging
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.logging import print_log

from mmadaptformer.utils.progress import track_progress
from mmadaptformer.utils.unknown_containers import check_video_file
from mmadaptformer.utils.video_containers import (BrokenVideoError,
                                                  one_line_error)
from mmadaptformer.utils.video_probe import VideoInfo, inspect_video
from .annotation_lists import AnnotationError
from .listed_files import listed_lines

__all__ = ['scan_videos']


def scan_videos(data_list: Sequence[dict], ann_file: str, skip_broken: bool,
                drop_short: bool, min_frames: Optional[int],
                max_listed: int) -> List[dict]:
    """Open every video of ``data_list``, and drop the broken or short ones.

    Args:
        data_list (Sequence[dict]): The parsed list (``filename`` and
            ``source`` of each video).
        ann_file (str): The annotation list, for the messages.
        skip_broken (bool): Drop videos that are missing or fail
            :func:`~mmadaptformer.utils.video_probe.inspect_video`
            (the last frame is decoded).
        drop_short (bool): Drop videos with fewer than ``min_frames``.
        min_frames (int, optional): The fewest frames a video must have.
        max_listed (int): At most this many files are named in a warning.

    Returns:
        list[dict]: The videos kept.

    Raises:
        AnnotationError: If no video is kept.
    """
    kept, broken, short = [], [], []
    for info in track_progress(data_list,
                               f'Scanning the videos of {ann_file}'):
        filename = info['filename']
        if osp.isfile(filename):
            num_frames, why = _scanned(filename, skip_broken)
        else:
            num_frames, why = 0, 'the file is missing'
        if why is not None and skip_broken:
            broken.append((info, why))
        elif (drop_short and why is None and num_frames < min_frames):
            short.append((info, f'{num_frames} frames'))
        else:
            kept.append(info)
    if broken:
        print_log(
            f'CheckedVideoDataset: skip_broken=True dropped '
            f'{len(broken)} of {len(data_list)} videos of '
            f'{ann_file}; evaluation uses {len(kept)}:\n' +
            listed_lines(broken, max_listed),
            logger='current',
            level=logging.WARNING)
    elif skip_broken:
        print_log(
            f'CheckedVideoDataset: scanned {len(data_list)} videos '
            f'of {ann_file}, none broken',
            logger='current')
    if short:
        print_log(
            f"CheckedVideoDataset: short_videos='skip' dropped "
            f'{len(short)} of {len(data_list)} videos of '
            f'{ann_file}, shorter than a clip (min_frames='
            f'{min_frames}); evaluation uses {len(kept)}:\n' +
            listed_lines(short, max_listed),
            logger='current',
            level=logging.WARNING)
    if not kept:
        raise AnnotationError(
            f'{ann_file}: all {len(data_list)} videos are '
            f'broken or short ({len(broken)} broken, {len(short)} '
            f'shorter than {min_frames} frames)')
    return kept


def _scanned(path: str, decode_last: bool) -> VideoInfo:
    """:func:`~mmadaptformer.utils.video_probe.inspect_video` after
    the check every other path makes
    (:func:`~mmadaptformer.utils.unknown_containers.check_video_file`): an
    image named as a video is told from its first bytes, not handed to
    decord (whose FFmpeg prints its own lines for a damaged one)."""
    try:
        check_video_file(path)
    except (BrokenVideoError, OSError) as e:  # why it is dropped
        return VideoInfo(0, one_line_error(e))
    return inspect_video(path, decode_last=decode_last, checked=True)
