# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One table of image magic numbers: ``image_files`` tells the formats
from a file's first bytes, for the damage of an image that failed to
decode and for an image given where a checkpoint or a config goes.

Before, ``checkpoint_formats`` kept a table of its own that knew PNG, JPEG
and GIF only: a BMP, TIFF, WebP or PPM given as the checkpoint
(``tools/infer.py CONFIG a.bmp``, the checkpoint left out) was not named
an image, and a WebP file was called a video (RIFF/AVI)."""
import cv2
import numpy as np
import pytest

from mmadaptformer.utils.checkpoint_formats import (TOOL_ORDER, binary_format,
                                                    media_kind,
                                                    not_a_checkpoint)
from mmadaptformer.utils.image_files import image_format


def test_gif_is_an_image_the_tools_do_not_read():
    assert image_format(b'GIF89a') is None
    assert image_format(b'GIF89a', readable_only=False) == 'GIF'
    assert image_format(b'GIF87a', readable_only=False) == 'GIF'
    assert image_format(b'%PDF-1.4', readable_only=False) is None
    assert media_kind(b'GIF89a' + bytes(200)) == 'an image (GIF)'


@pytest.mark.parametrize('ext,name', [('.jpg', 'JPEG'), ('.png', 'PNG'),
                                      ('.bmp', 'BMP'), ('.tif', 'TIFF'),
                                      ('.webp', 'WebP'), ('.ppm', 'PPM')])
def test_an_image_given_as_the_checkpoint_is_named(tmp_path, ext, name):
    path = str(tmp_path / f'a{ext}')
    assert cv2.imwrite(path, np.full((8, 8, 3), 99, np.uint8))
    assert not_a_checkpoint(path) == \
        f'an image ({name}), not a checkpoint: {TOOL_ORDER}'
    assert binary_format(path) == not_a_checkpoint(path)


@pytest.mark.parametrize('size', [12880, 13136, 13648, 13904, 0x4d42])
def test_a_safetensors_file_is_not_taken_for_a_pgm_ppm_or_bmp(tmp_path, size):
    """A safetensors file starts with its header's length, 8 bytes little
    endian: 12880 reads ``P2`` and six zero bytes, 0x4d42 reads ``BM``
    (safetensors pads its header to a multiple of 8, and ViT-B's is near
    15 KB). It was refused as an image (PGM) given as the checkpoint."""
    import struct
    header = b'{"__metadata__":{}}'.ljust(size, b' ')
    path = tmp_path / 'vit.safetensors'
    path.write_bytes(struct.pack('<Q', size) + header)
    assert not_a_checkpoint(str(path)) is None
    assert 'safetensors' in binary_format(str(path))
    assert image_format(path.read_bytes()[:16], readable_only=False) is None


def test_real_pgm_and_bmp_files_are_still_images(tmp_path):
    for ext, name in (('.pgm', 'PGM'), ('.bmp', 'BMP')):
        path = tmp_path / f'a{ext}'
        image = np.zeros((8, 8) if ext == '.pgm' else (8, 8, 3), np.uint8)
        assert cv2.imwrite(str(path), image)
        assert image_format(path.read_bytes()[:16]) == name
