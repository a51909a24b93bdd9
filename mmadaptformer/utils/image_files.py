# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Why an image file failed to decode, told from its bytes: a format
OpenCV reads cut short (an interrupted copy or download), or bytes that
are no image at all (a web page or text saved under an image's name)."""
from typing import Optional

__all__ = ['image_format', 'image_damage']

# (first bytes, format) of the formats mmpretrain's LoadImageFromFile
# (OpenCV) reads, as the inference tools' IMAGE_EXTENSIONS name them.
_MAGICS = ((b'\xff\xd8\xff', 'JPEG'), (b'\x89PNG\r\n\x1a\n', 'PNG'),
           (b'BM', 'BMP'), (b'II*\x00', 'TIFF'), (b'MM\x00*', 'TIFF'),
           (b'P2', 'PGM'), (b'P3', 'PPM'), (b'P5', 'PGM'), (b'P6', 'PPM'))

# The bytes each format's complete file ends with (JPEG's end-of-image
# marker, PNG's IEND chunk and its CRC), and how far from the end to look
# (encoders may pad after them).
_ENDS = {'JPEG': (b'\xff\xd9', 64), 'PNG': (b'IEND\xaeB`\x82', 64)}


def image_format(head: bytes) -> Optional[str]:
    """The image format a file's first bytes say it is, or None.

    Only for messages about a file that failed to decode.

    Args:
        head (bytes): The file's first bytes (16 are enough).

    Returns:
        str, optional: ``'JPEG'``, ``'PNG'``, ``'BMP'``, ``'TIFF'``,
        ``'WebP'``, ``'PGM'`` or ``'PPM'``.
    """
    if head[:4] == b'RIFF' and head[8:12] == b'WEBP':
        return 'WebP'
    for magic, name in _MAGICS:
        if head.startswith(magic):
            return name
    return None


def image_damage(path: str) -> str:
    """For an image that failed to decode: ``': a JPEG file cut short,
    ...'`` if it starts as a JPEG or PNG but lacks the bytes that end one,
    ``': its first bytes match no image format ...'`` if it starts as none,
    else ``''`` (the decoder's own error says the rest).

    Args:
        path (str): The file.

    Returns:
        str: A clause to append to the error, or ``''``.
    """
    with open(path, 'rb') as f:
        head = f.read(16)
        name = image_format(head)
        if name is None:
            return (': its first bytes match no image format (JPEG, PNG, '
                    f'BMP, TIFF, WebP, PPM/PGM): {head!r}')
        end = _ENDS.get(name)
        if end is None:
            return ''
        f.seek(0, 2)
        f.seek(max(0, f.tell() - end[1]))
        if end[0] in f.read():
            return ''
    return (f': a {name} file cut short, without the end marker of a '
            'complete one (an interrupted copy or download? copy it again)')
