# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Open a video with decord, count its frames and decode its last one:
:func:`inspect_video` and :func:`scan_video`, after
:func:`~mmadaptformer.utils.video_containers.check_container` has read its
container header.

By path, never from memory: decord 0.6 crashes the whole process
(segmentation fault) on some truncated AVI files read from memory (see
:mod:`mmadaptformer.utils.video_containers`).
"""
from typing import NamedTuple, Optional

from .decord_failures import decord_explained
from .video_containers import check_container, one_line_error

__all__ = ['VideoInfo', 'inspect_video', 'scan_video']


class VideoInfo(NamedTuple):
    """What :func:`inspect_video` found.

    Args:
        num_frames (int): Frames decord counts in the file; 0 if it could
            not open it.
        error (str, optional): Why the video is broken, or None if it
            passed.
    """
    num_frames: int
    error: Optional[str]


def inspect_video(path: str,
                  decode_last: bool = True,
                  checked: bool = False) -> VideoInfo:
    """Check a video's container, open it with decord and count its frames.

    Costs one file open, a container index read and, with ``decode_last``,
    one frame decode (a seek from the nearest key frame); damage in the
    middle of a file is not found.

    Args:
        path (str): A local video file.
        decode_last (bool): Also decode the last frame. Defaults to True.
        checked (bool): The caller has checked the container
            (:func:`check_container`): it is not read again. Defaults to
            False.

    Returns:
        VideoInfo: The frame count and why the video is broken, if it is.
    """
    # Imported here: decord imported before cv2 breaks OpenCV's writers.
    import decord
    num_frames = 0
    try:
        if not checked:
            check_container(path)
        # By path, not from memory: see the module's docstring.
        reader = decord.VideoReader(path, num_threads=1)
        num_frames = len(reader)
        if num_frames == 0:
            return VideoInfo(0, 'the video has no frames')
        if decode_last:
            # As DecordDecode reads: decord 0.6 decodes a 48-pixel-wide
            # frame alone but fails on it in a batch.
            reader.get_batch([num_frames - 1]).asnumpy()
    except Exception as e:  # decord raises plain RuntimeErrors
        why = one_line_error(e)
        return VideoInfo(num_frames, decord_explained(path, e, why) or why)
    return VideoInfo(num_frames, None)


def scan_video(path: str) -> Optional[str]:
    """Check that a video opens, has frames and decodes its last frame.

    See :func:`inspect_video` for what this costs and finds.

    Args:
        path (str): A local video file.

    Returns:
        str | None: Why the video is broken, or None if it passed.
    """
    return inspect_video(path).error
