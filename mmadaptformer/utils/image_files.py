# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Why an image file failed to decode, told from its bytes: a format
OpenCV reads cut short (an interrupted copy or download), a video saved
under an image's name, or bytes that are no image at all (a web page or
text saved under an image's name)."""
import os
import struct
from typing import Optional

from .video_containers import CONTAINER_HEAD, container_name

__all__ = ['image_format', 'image_damage', 'png_cut_short']

_PNG = b'\x89PNG\r\n\x1a\n'
# (first bytes, format, whether mmpretrain's LoadImageFromFile (OpenCV)
# reads it, as the inference tools' IMAGE_EXTENSIONS name them) of the
# images users have at hand; WebP is told by two places (RIFF....WEBP).
_MAGICS = (
    (b'\xff\xd8\xff', 'JPEG', True),
    (_PNG, 'PNG', True),
    (b'BM', 'BMP', True),
    (b'II*\x00', 'TIFF', True),
    (b'MM\x00*', 'TIFF', True),
    (b'P2', 'PGM', True),
    (b'P3', 'PPM', True),
    (b'P5', 'PGM', True),
    (b'P6', 'PPM', True),
    (b'GIF87a', 'GIF', False),
    (b'GIF89a', 'GIF', False),
)

# The bytes each format's complete file ends with (JPEG's end-of-image
# marker, PNG's IEND chunk and its CRC), and how far from the end to look
# (encoders may pad after them).
_ENDS = {'JPEG': (b'\xff\xd9', 64), 'PNG': (b'IEND\xaeB`\x82', 64)}


def image_format(head: bytes, readable_only: bool = True) -> Optional[str]:
    """The image format a file's first bytes say it is, or None.

    Only for messages about a file: one that failed to decode, or one
    given in another file's place.

    Args:
        head (bytes): The file's first bytes (16 are enough).
        readable_only (bool): Only the formats the tools read (OpenCV's);
            False: GIF too. Defaults to True.

    Returns:
        str, optional: ``'JPEG'``, ``'PNG'``, ``'BMP'``, ``'TIFF'``,
        ``'WebP'``, ``'PGM'`` or ``'PPM'``; or ``'GIF'``.
    """
    if head[:4] == b'RIFF' and head[8:12] == b'WEBP':
        return 'WebP'
    for magic, name, read in _MAGICS:
        if head.startswith(magic) and (read or not readable_only) and \
                _confirmed(head, name):
            return name
    return None


def _confirmed(head: bytes, name: str) -> bool:
    """Whether a two-byte magic is backed by the bytes after it: a BMP's
    reserved bytes 6-9 are zero and a PGM/PPM's magic is followed by white
    space. Other files start with those two bytes too: a safetensors file
    whose 8-byte header length is 12880 reads ``P2`` and six zero bytes."""
    if name == 'BMP':
        return head[6:10] == b'\0\0\0\0'
    if name in ('PGM', 'PPM'):
        return head[2:3] in (b' ', b'\t', b'\r', b'\n')
    return True


def _not_an_image(head: bytes) -> str:
    """``': it is an MP4/MOV video, not an image'`` for a video container's
    first bytes, ``': it is a GIF image ...'`` for a GIF's, else ``': its
    first bytes match no image format ...'``."""
    container = container_name(head)
    if container is not None:
        article = 'an' if container[0] in 'AEFIMO' else 'a'
        return f': it is {article} {container} video, not an image'
    if image_format(head, readable_only=False) == 'GIF':
        # Not one of the formats the tools take; OpenCV 4.11+ reads a
        # whole one, whatever its name, so this one is damaged or the
        # OpenCV build has no GIF decoder.
        return (': it is a GIF image (whatever its name), which OpenCV '
                'could not decode: cut short or damaged, or an OpenCV '
                'built without GIF support; convert it to PNG or JPEG')
    return (': its first bytes match no image format (JPEG, PNG, BMP, '
            f'TIFF, WebP, PPM/PGM): {head[:16]!r}')


def image_damage(path: str) -> str:
    """For an image that failed to decode: ``': a JPEG file cut short,
    ...'`` if it starts as a JPEG or PNG but lacks the bytes that end one,
    ``': it is an MP4/MOV video, not an image'`` if it starts as a video
    container, ``': it is a GIF image ...'`` for a GIF (named as another
    format), ``': its first bytes match no image format ...'`` if it
    starts as neither, else ``''`` (the decoder's own error says the rest).

    Args:
        path (str): The file.

    Returns:
        str: A clause to append to the error, or ``''``.
    """
    with open(path, 'rb') as f:
        head = f.read(CONTAINER_HEAD)
        name = image_format(head)
        if name is None:
            return _not_an_image(head)
        end = _ENDS.get(name)
        if end is None:
            return ''
        f.seek(0, 2)
        f.seek(max(0, f.tell() - end[1]))
        if end[0] in f.read():
            return ''
    return _cut_short(name)


def _cut_short(name: str) -> str:
    return (f': a {name} file cut short, without the end marker of a '
            'complete one (an interrupted copy or download? copy it again)')


def png_cut_short(path: str) -> Optional[str]:
    """Why a file that starts as a PNG does not decode, when it ends
    before its last chunk
    (``IEND``) does: its chunks, read by their lengths, run past the end of
    the file. OpenCV decodes no such file, and prints libpng's or its own
    line about it to stderr (``PNG input buffer is incomplete``), so it is
    told before OpenCV is given it. Bytes after ``IEND`` (which OpenCV
    reads past) do not count.

    Args:
        path (str): The file.

    Returns:
        str, optional: For a PNG cut short, ``': a PNG file cut short,
        ...'`` (as :func:`image_damage` says it); None for a whole one and
        any other file.
    """
    with open(path, 'rb') as f:
        if f.read(len(_PNG)) != _PNG:
            return None
        size = os.fstat(f.fileno()).st_size
        place = len(_PNG)
        while True:
            header = f.read(8)
            if len(header) < 8:
                return _cut_short('PNG')
            length, kind = struct.unpack('>I4s', header)
            # Length, type, data and CRC.
            place += 12 + length
            if place > size:
                return _cut_short('PNG')
            if kind == b'IEND':
                return None
            f.seek(place)
