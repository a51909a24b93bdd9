# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a file given as a video whose first bytes match no container,
without letting decord print its bytes, nor FFmpeg an image decoder's
complaints.

mmaction2's ``DecordInit`` hands decord a file's bytes, and decord 0.6
prints the bytes of a file it cannot open to stderr, as the file's name,
up to the first NUL byte: a terminal's escape sequences included. A file
that :func:`~mmadaptformer.utils.video_containers.container_name` knows
is left to the pipeline; any other is named if it is text or an image
(whose damage FFmpeg's decoders print: ``[mjpeg @ 0x...] No JPEG data
found in image``), else opened by its path (decord's log then names the
path) before the pipeline sees it. Inference
(:class:`~mmadaptformer.apis.inputs.TestInputs`) and the video datasets
(:class:`~mmadaptformer.datasets.CheckedVideoDataset`) share this rule,
:func:`check_video_file`.
"""
from typing import Optional, Sequence

from .image_files import image_format
from .video_containers import BrokenVideoError, check_container, container_name
from .video_probe import inspect_video

__all__ = [
    'BYTES_OPENER', 'UNDECODABLE', 'check_video_file', 'decord_reads_bytes',
    'not_a_video'
]

#: The transform of mmaction2 that hands decord a file's bytes; the other
#: openers (``OpenCVInit``, ``PyAVInit``) open it by its path.
BYTES_OPENER = 'DecordInit'

#: How the refusal of a file of no known container starts after its path:
#: ``'PATH: cannot be decoded as a video: it is a JPEG image, not a
#: video'``.
UNDECODABLE = 'cannot be decoded as a video'


def decord_reads_bytes(transforms: Sequence) -> bool:
    """Whether a pipeline hands decord the bytes of its video files
    (:data:`BYTES_OPENER`).

    Args:
        transforms (Sequence): The pipeline's transforms.
    """
    return any(type(t).__name__ == BYTES_OPENER for t in transforms)


def not_a_video(head: bytes) -> str:
    """For a file given as a video: ``': it is a PNG image, not a video'``
    if its first bytes are an image format's
    (:func:`~mmadaptformer.utils.image_files.image_format`), ``': its
    first bytes match no video container ...'`` if they match no known
    container (a text file renamed ``.mp4``), else ``''``.

    Args:
        head (bytes): The file's first bytes (:data:`~mmadaptformer.utils.
            video_containers.CONTAINER_HEAD`).

    Returns:
        str: A clause to append to ``'PATH: cannot be decoded as a
        video'``, or ``''``.
    """
    image = image_format(head, False)
    if image is not None:
        return f': it is a {image} image, not a video'
    if container_name(head) is not None:
        return ''
    return (': its first bytes match no video container (AVI, MP4/MOV, '
            f'WebM/Matroska, MPEG, FLV, Ogg): {head[:16]!r}')


def check_video_file(path: str,
                     fd: Optional[int] = None,
                     size: Optional[int] = None,
                     open_with_decord: bool = True) -> None:
    """:func:`~mmadaptformer.utils.video_containers.check_container`, and
    for a file of no known container, the rule of this module.

    A file of a known container costs what ``check_container`` costs (its
    first bytes are read once); with ``open_with_decord``, one of no known
    container is refused if it is an image (decord 0.6 opens none: JPEG,
    PNG, animated PNG, GIF, BMP, TIFF, WebP were tried), else opened by
    decord by its path (a few milliseconds).

    Args:
        path (str): A local video file.
        fd (int, optional): A descriptor the caller opened ``path`` with
            (see ``check_container``). Defaults to None.
        size (int, optional): The size of the file open as ``fd`` (see
            ``check_container``). Defaults to None.
        open_with_decord (bool): The pipeline opens its videos with
            decord's ``DecordInit``, which reads a file's bytes; False for
            one whose opener reads by path anyway (and may read what
            decord does not). Defaults to True.

    Raises:
        BrokenVideoError: If the file is empty, truncated, text (``'PATH:
            it is an HTML page, not a video: ...'``) or not a regular file;
            with ``open_with_decord``, if it is of no known container and
            an image or decord cannot open it (``'PATH:``
            :data:`UNDECODABLE` ``: it is a JPEG image, not a video'``).
        OSError: If it cannot be opened or read (``FileNotFoundError`` if
            it is missing).
    """
    container, head = check_container(path, fd, size)
    if not open_with_decord:
        return
    # A WebP image is a RIFF file too.
    image = image_format(head, False) if container in (None,
                                                       'RIFF/AVI') else None
    if image is None and container is not None:
        return
    why = ''
    if image is None:
        error = inspect_video(path, decode_last=False, checked=True).error
        if error is None:
            return
        why = f' ({error})'
    raise BrokenVideoError(f'{path}: {UNDECODABLE}{not_a_video(head)}{why}')
