# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a file given as a video whose first bytes match no container,
without letting decord print its bytes.

mmaction2's ``DecordInit`` hands decord a file's bytes, and decord 0.6
prints the bytes of a file it cannot open to stderr, as the file's name,
up to the first NUL byte: a terminal's escape sequences included. A file
that :func:`~mmadaptformer.utils.video_containers.container_name` knows
is left to the pipeline; any other is named if it is text, else opened
by its path (decord's log then names the path) before the pipeline sees
it. Inference (:class:`~mmadaptformer.apis.input_refusals.InputRefusals`)
and the video datasets
(:class:`~mmadaptformer.datasets.CheckedVideoDataset`) share this rule.
"""
from typing import Optional, Sequence

from .image_files import image_format
from .video_containers import (CONTAINER_HEAD, BrokenVideoError,
                               check_container, container_name, inspect_video,
                               text_video)

__all__ = [
    'check_video_file', 'decord_reads_bytes', 'not_a_video',
    'unknown_container_error'
]


def decord_reads_bytes(transforms: Sequence) -> bool:
    """Whether a pipeline hands decord the bytes of its video files:
    mmaction2's ``DecordInit`` reads a file into memory first; the other
    openers (``OpenCVInit``, ``PyAVInit``) open it by its path.

    Args:
        transforms (Sequence): The pipeline's transforms.
    """
    return any(type(t).__name__ == 'DecordInit' for t in transforms)


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
    if container_name(head) is not None:
        return ''
    image = image_format(head, False)
    if image is not None:
        return f': it is a {image} image, not a video'
    return (': its first bytes match no video container (AVI, MP4/MOV, '
            f'WebM/Matroska, MPEG, FLV, Ogg): {head[:16]!r}')


def unknown_container_error(path: str,
                            open_with_decord: bool = True) -> Optional[str]:
    """Why a file whose first bytes match no known container cannot be
    decoded as a video: it is text
    (:func:`~mmadaptformer.utils.video_containers.text_video`: never
    opened), or, with ``open_with_decord``, decord cannot open it by its
    path (no frame is decoded); None for a file of a known container and
    for one decord opens.

    Args:
        path (str): A local regular file.
        open_with_decord (bool): Open a file that is not text with decord;
            False for a pipeline whose opener reads by path anyway.
            Defaults to True.

    Returns:
        str | None: A clause to append to ``'PATH: cannot be decoded as a
        video'``, e.g. ``': it is a JPEG image, not a video (DECORDError:
        ...)'``.
    """
    with open(path, 'rb') as f:
        head = f.read(CONTAINER_HEAD)
    if container_name(head) is not None:
        return None
    what = text_video(head)
    if what is not None:
        return f'{not_a_video(head)} (it is {what})'
    if not open_with_decord:
        return None
    why = inspect_video(path, decode_last=False).error
    if why is None:
        return None
    return f'{not_a_video(head)} ({why})'


def check_video_file(path: str,
                     fd: Optional[int] = None,
                     size: Optional[int] = None,
                     open_with_decord: bool = True) -> None:
    """:func:`~mmadaptformer.utils.video_containers.check_container`, and
    for a file of no known container, :func:`unknown_container_error`.

    A file of a known container costs what ``check_container`` costs; one
    of no known container is read again and, with ``open_with_decord``,
    opened by decord (a few milliseconds).

    Args:
        path (str): A local video file.
        fd (int, optional): A descriptor the caller opened ``path`` with
            (see ``check_container``). Defaults to None.
        size (int, optional): The file's size, where the caller has it.
            Defaults to None.
        open_with_decord (bool): See :func:`unknown_container_error`.
            Defaults to True.

    Raises:
        BrokenVideoError: If the file is empty, truncated, text, not a
            regular file, or of no known container and decord cannot open
            it (``'PATH: cannot be decoded as a video: it is a JPEG image,
            not a video (DECORDError: ...)'``).
        OSError: If it cannot be opened or read (``FileNotFoundError`` if
            it is missing).
    """
    if check_container(path, fd, size) is not None:
        return
    why = unknown_container_error(path, open_with_decord)
    if why is not None:
        raise BrokenVideoError(f'{path}: cannot be decoded as a video{why}')
