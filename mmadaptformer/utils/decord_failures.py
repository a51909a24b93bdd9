# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Say that it is decord, not the file, when decord cannot decode a video
that OpenCV reads.

decord 0.6.0 fails on frames 48 pixels wide (48x40, 48x48: ``Check
failed: from_size == to_size (7680 vs. 5760) DECORDArrayCopyFromTo: The
size must exactly match``), files that OpenCV decodes and players play.
The datasets and inference called them videos that "cannot be decoded",
which reads as a damaged file. :func:`decord_failure` tells that case
apart, by decord's message (a damaged file fails in its decoder, not in
that copy) and one OpenCV read of the first frame, and says what to do;
no other decoder reads the video in decord's place.
"""
import os.path as osp
from typing import Optional, Tuple

__all__ = [
    'decord_explained', 'decord_failure', 'is_decord_copy_error',
    'opencv_frame_size'
]

#: decord's message when the frames it decoded do not fit the batch array
#: it copies them into.
_COPY_ERROR = 'DECORDArrayCopyFromTo'
#: What to do about a video decord cannot decode and OpenCV can.
_ADVICE = ('decord 0.6 fails on some frame sizes, 48 pixels wide among '
           'them: re-encode the video at another size, or read it with '
           "mmaction2's OpenCVInit and OpenCVDecode in place of DecordInit "
           'and DecordDecode in the pipeline')


def is_decord_copy_error(error: BaseException) -> bool:
    """Whether ``error`` is decord's failure to copy a decoded frame batch
    (``DECORDArrayCopyFromTo: The size must exactly match``), which it
    raises for frames of some sizes, not for damaged data (that is an
    ``avcodec_send_packet`` or similar error of the decoder).

    Args:
        error (BaseException): The exception.
    """
    return _COPY_ERROR in str(error)


def opencv_frame_size(path: str) -> Optional[Tuple[int, int]]:
    """``(width, height)`` of the first frame OpenCV decodes from
    ``path``, or None where it decodes none.

    Args:
        path (str): A local video file.
    """
    import cv2
    capture = cv2.VideoCapture(path)
    try:
        ok, frame = capture.read()
    finally:
        capture.release()
    if not ok or frame is None:
        return None
    return frame.shape[1], frame.shape[0]


def decord_failure(path: str, error: BaseException) -> Optional[str]:
    """Why decord's ``error`` on ``path`` is decord's: its failure to copy
    frames of some sizes (:func:`is_decord_copy_error`), on a file whose
    frames OpenCV decodes; None for any other error (a damaged file's
    among them) or file.

    Args:
        path (str): The video file.
        error (BaseException): What reading it raised.

    Returns:
        str | None: E.g. ``'decord cannot decode it, though the file
        itself is readable: OpenCV decodes its frames (48x40); decord 0.6
        fails on ...'``, without a final full stop; the caller adds
        decord's own message.
    """
    if not is_decord_copy_error(error) or not osp.isfile(path):
        return None
    size = opencv_frame_size(path)
    if size is None:
        return None
    return ('decord cannot decode it, though the file itself is readable: '
            f'OpenCV decodes its frames ({size[0]}x{size[1]}); {_ADVICE}')


def decord_explained(path: str, error: BaseException,
                     why: str) -> Optional[str]:
    """``'DECORD_FAILURE (WHY)'`` where ``error`` on ``path`` is decord's
    (:func:`decord_failure`), ``why`` being the caller's one line of the
    error; None otherwise.

    Args:
        path (str): The video file.
        error (BaseException): What reading it raised.
        why (str): How the caller words ``error``.
    """
    failure = decord_failure(path, error)
    return None if failure is None else f'{failure} ({why})'
