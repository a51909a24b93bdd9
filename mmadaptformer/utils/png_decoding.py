# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Whether OpenCV can decode PNG images in this process.

decord 0.6 loads its library with ``RTLD_GLOBAL``, and with it the zlib
1.2.3 its wheel bundles (``decord.libs/libz-*.so.1.2.3``). When ``import
decord`` comes before the first ``import cv2``, OpenCV's libpng then calls
that zlib, and every PNG decode fails: ``cv2.imread``, ``cv2.imdecode``
and ``mmcv.imfrombytes`` return None, with ``libpng error: bad parameters
to zlib`` on stderr. Encoding PNG, decoding JPEG and Pillow are not
affected. The binding is made when cv2 loads, and a loaded extension
cannot be loaded again: nothing repairs it within the process. Importing
cv2 (or mmadaptformer, which imports it through mmcv) before decord avoids
it.

Such a process reported every good PNG as a broken image
(``CheckedImageDataset`` skipped them all; inference said it could not be
decoded). ``CheckedImageDataset`` and image inference
(:class:`~mmadaptformer.apis.inputs.TestInputs`) raise
:class:`PngDecodingError` instead, naming the file and this cause, for a
PNG that fails to decode while :func:`png_decoding_works` says no PNG
decodes here and Pillow decodes that file (:func:`png_decoding_error`);
so does inference of a folder of PNG frames (mmaction2's
``RawFrameDecode``, :func:`frame_png_decoding_error`), naming the folder
and the frame. ``import mmadaptformer`` warns once
(:func:`warn_if_png_decoding_broken`).
"""
import logging
import os.path as osp
import sys
from typing import Optional

from mmengine.logging import print_log

from .rawframe_ann_file import frame_name

__all__ = [
    'PNG_SIGNATURE', 'PngDecodingError', 'png_decoding_works',
    'png_decoding_problem', 'png_decoding_error', 'frame_png_decoding_error',
    'warn_if_png_decoding_broken'
]

#: The first 8 bytes of every PNG file.
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'

_DECORD_FIRST = (
    'OpenCV cannot decode PNG images in this process: decord was imported '
    "before cv2 (decord 0.6 bundles a zlib that OpenCV's libpng then "
    'uses). Import cv2 (or mmadaptformer) before decord. This cannot be '
    'repaired within the process: start it again with that import order.')
_UNKNOWN = (
    'OpenCV cannot decode PNG images in this process: a PNG image that cv2 '
    'encoded itself does not decode (a library loaded before cv2, as '
    "decord 0.6 is when imported first, supplies the zlib that OpenCV's "
    'libpng uses). Import cv2 (or mmadaptformer) first. This cannot be '
    'repaired within the process.')

_WORKS: Optional[bool] = None


class PngDecodingError(RuntimeError):
    """A PNG image cannot be decoded because OpenCV cannot decode any PNG
    in this process; the file itself is not known to be broken. The
    message names the file and the cause."""


def png_decoding_works() -> bool:
    """Whether ``cv2.imdecode`` decodes a PNG image that ``cv2.imencode``
    made. Imports cv2; the answer is cached, as it cannot change within
    the process.

    Returns:
        bool: False when OpenCV's PNG decoding is broken here.
    """
    global _WORKS
    if _WORKS is None:
        import cv2
        import numpy as np
        image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
        ok, encoded = cv2.imencode('.png', image)
        decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if ok else None
        _WORKS = decoded is not None and np.array_equal(decoded, image)
    return _WORKS


def png_decoding_problem() -> Optional[str]:
    """Why OpenCV cannot decode PNG images in this process, or None when
    it can (see :func:`png_decoding_works`)."""
    if png_decoding_works():
        return None
    return _DECORD_FIRST if 'decord' in sys.modules else _UNKNOWN


def _is_png(path: str) -> bool:
    with open(path, 'rb') as f:
        return f.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE


def _pillow_decodes(path: str) -> bool:
    from PIL import Image
    try:
        with Image.open(path) as image:
            image.load()
    except Exception:  # any Pillow error: the file is broken
        return False
    return True


def _process_problem(path: Optional[str]) -> Optional[str]:
    """:func:`png_decoding_problem` when ``path`` is a local PNG file (by
    its first bytes) that Pillow decodes, else None."""
    problem = png_decoding_problem()
    if problem is None or not path or not osp.isfile(path):
        return None
    try:
        if not _is_png(path) or not _pillow_decodes(path):
            return None
    except OSError:  # the file cannot be read: the caller's error says so
        return None
    return problem


def png_decoding_error(path: Optional[str]) -> Optional[PngDecodingError]:
    """The error for an image ``path`` that failed to load, when the cause
    is this process rather than the file.

    That is when OpenCV cannot decode PNG images here
    (:func:`png_decoding_problem`), ``path`` is a local PNG file (by its
    first bytes, whatever its extension) and Pillow decodes it: a PNG that
    Pillow cannot decode either is broken, and is left to be reported as
    such.

    Args:
        path (str, optional): The image that failed to load. None and
            paths that are not local files are not checked.

    Returns:
        PngDecodingError | None: The error to raise (naming ``path`` and
        the cause), or None when the failure is the file's.
    """
    problem = _process_problem(path)
    if problem is None:
        return None
    return PngDecodingError(
        f'{path}: this PNG image is not broken (Pillow decodes it), but '
        f'OpenCV cannot decode it here. {problem}')


def frame_png_decoding_error(results: dict) -> Optional[PngDecodingError]:
    """The error for a clip of extracted frames that mmaction2's
    ``RawFrameDecode`` failed to read, when the cause is this process
    rather than its frames.

    ``RawFrameDecode`` reads the frames of ``results['frame_inds']`` (plus
    ``results['offset']``) in that order, from ``results['frame_dir']``,
    named by ``results['filename_tmpl']``; for a ``'Flow'`` clip, the x
    component first. In a process that cannot decode PNG images the first
    of them fails: it is checked as :func:`png_decoding_error` checks an
    image.

    Args:
        results (dict): ``RawFrameDecode``'s input (``SampleFrames``'s
            output). Without ``frame_dir``, ``filename_tmpl`` or
            ``frame_inds`` nothing is checked.

    Returns:
        PngDecodingError | None: The error to raise (naming the folder,
        the frame and the cause), or None when the failure is the clip's.
    """
    frame_dir = results.get('frame_dir')
    tmpl = results.get('filename_tmpl')
    inds = results.get('frame_inds')
    if not isinstance(frame_dir, str) or not isinstance(tmpl, str) or \
            inds is None or png_decoding_problem() is None:
        return None
    import numpy as np
    inds = np.asarray(inds).reshape(-1)
    if not inds.size:
        return None
    index = int(inds[0]) + int(results.get('offset', 0))
    try:
        name = frame_name(tmpl, index, results.get('modality') == 'Flow')
    except (IndexError, KeyError, ValueError):  # RawFrameDecode's error
        return None
    problem = _process_problem(osp.join(frame_dir, name))
    if problem is None:
        return None
    return PngDecodingError(
        f'{frame_dir}: frame {name} (the first that RawFrameDecode reads) '
        'is a PNG image that is not broken (Pillow decodes it), but OpenCV '
        f'cannot decode it here, nor any PNG frame. {problem}')


def warn_if_png_decoding_broken() -> bool:
    """Log a WARNING when decord was imported before this check and OpenCV
    cannot decode PNG images in this process (see the module's text).

    Called once by ``import mmadaptformer``. Does nothing when decord is
    not imported (it then cannot have been imported before cv2).

    Returns:
        bool: Whether it warned.
    """
    if 'decord' not in sys.modules:
        return False
    problem = png_decoding_problem()
    if problem is None:
        return False
    print_log(
        f'{problem} Until then, PNG images fail to load with OpenCV '
        "(mmcv's LoadImageFromFile, mmaction2's RawFrameDecode, "
        "mmpretrain's Inferencers); "
        "mmadaptformer's CheckedImageDataset and image and frame-folder "
        'inference raise a PngDecodingError naming such a file instead of '
        'calling it broken.',
        logger='current',
        level=logging.WARNING)
    return True
