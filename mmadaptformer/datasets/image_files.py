# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What :class:`~mmadaptformer.datasets.CheckedImageDataset` calls a broken
image, and the error it raises on one.

mmcv's ``LoadImageFromFile`` fails on a file that is not an image it can
decode with ``failed to load image: PATH`` (OpenCV) or a Pillow error
(``image file is truncated``, ``cannot identify image file``), and on an
empty file with an OpenCV assertion that names no file (``!buf.empty()``).
"""
import os
import stat
from typing import Optional

__all__ = ['BrokenImageError', 'check_image_file', 'check_opened_image']


class BrokenImageError(RuntimeError):
    """An image file cannot be loaded; the message names the file."""


def check_image_file(path: Optional[str]) -> None:
    """Raise if the local file ``path`` is empty.

    Anything else (a missing file, a corrupt or truncated one) is left to
    the pipeline's loading transform, whose error names the file.

    Args:
        path (str, optional): The image; None and paths that are not local
            files (URLs, other storage backends) are not checked.

    Raises:
        BrokenImageError: If the file has 0 bytes.
    """
    if not path:
        return
    try:
        # One stat, for the type and the size (a second was a round trip
        # to the server for every training sample on a network disk).
        status = os.stat(path)
    except (OSError, ValueError):
        return  # not a local file, as osp.isfile would say
    if stat.S_ISREG(status.st_mode) and status.st_size == 0:
        raise BrokenImageError(f'{path}: the file is empty (0 bytes)')


def check_opened_image(path: str, fd: int, size: int) -> None:
    """Raise if an image its caller opened is empty: the check of each
    image of an evaluation list
    (:func:`~mmadaptformer.datasets.listed_files.check_evaluation_files`),
    which opened it (so it exists and can be read) and took its size.

    Args:
        path (str): The image, for the error.
        fd (int): Its open descriptor (nothing is read).
        size (int): Its size.

    Raises:
        BrokenImageError: If the file has 0 bytes.
    """
    if size == 0:
        raise BrokenImageError(f'{path}: the file is empty (0 bytes)')
