# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A PNG cut short (an interrupted copy) given to tools/infer.py is
refused with our one error line, and no line of OpenCV's: its chunks are
read by their lengths (:func:`~mmadaptformer.utils.image_files.
png_cut_short`) and a file whose last chunk runs past its end is not given
to OpenCV. Before, OpenCV's ``[ WARN:0@6.8] global grfmt_png.cpp:793
readFromStreamOrBuffer PNG input buffer is incomplete`` (or libpng's
``libpng error: PNG input buffer is incomplete``) came on stderr besides
our error. Other output is untouched: a whole PNG, and one with bytes after
its end, are classified."""
import json
import struct

import cv2
import numpy as np
import pytest
from repo_paths import TINY_IMAGE_CONFIG
from tool_runners import run_tool

from mmadaptformer.utils.image_files import png_cut_short


def _png(size=32):
    image = np.zeros((size, size, 3), np.uint8)
    image[:, ::4] = (30, 200, 120)
    ok, data = cv2.imencode('.png', image)
    assert ok
    return data.tobytes()


def _iend(data):
    """Where the IEND chunk starts."""
    place = 8
    while True:
        length, kind = struct.unpack('>I4s', data[place:place + 8])
        if kind == b'IEND':
            return place
        place += 12 + length


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    from checkpoint_makers import save_stock_image_checkpoint
    path = str(tmp_path_factory.mktemp('cut_png') / 'full.pth')
    save_stock_image_checkpoint(path)
    return path


CUTS = {
    'inside its pixels': lambda data: data[:len(data) // 2],
    'before IEND': lambda data: data[:_iend(data)],
    'inside the CRC of IEND': lambda data: data[:_iend(data) + 10],
}


@pytest.mark.parametrize('where', list(CUTS))
def test_a_cut_png_gets_our_line_alone(checkpoint, tmp_path, where):
    whole = tmp_path / 'whole.png'
    whole.write_bytes(_png())
    # Bytes after IEND: OpenCV reads the image, and so does infer.py.
    padded = tmp_path / 'padded.png'
    padded.write_bytes(_png() + b'\0' * 100)
    cut = tmp_path / 'cut.png'
    cut.write_bytes(CUTS[where](_png()))
    assert cv2.imread(str(cut)) is None  # OpenCV decodes none of them
    proc = run_tool([
        'infer.py', TINY_IMAGE_CONFIG, checkpoint, whole, cut, padded, '--out',
        tmp_path / 'r.json'
    ],
                    cwd=str(tmp_path),
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 1, proc.stderr
    assert 'PNG input buffer is incomplete' not in proc.stderr, proc.stderr
    assert '[ WARN' not in proc.stderr, proc.stderr
    results = json.loads((tmp_path / 'r.json').read_text())
    assert 'scores' in results[str(whole)]['tiny_vit_image']
    assert 'scores' in results[str(padded)]['tiny_vit_image']
    assert results[str(cut)] == {
        'error':
        f'{cut}: cannot be decoded as an image: a PNG file cut short, '
        'without the end marker of a complete one (an interrupted copy or '
        'download? copy it again).'
    }


def test_whole_pngs_and_other_files_are_not_cut(tmp_path):
    """Guard: only a PNG whose chunks run past its end is said cut."""
    for name, data in (('whole.png', _png()), ('padded.png',
                                               _png() + b'junk' * 30),
                       ('text.png', b'hello'), ('empty.png', b'')):
        path = tmp_path / name
        path.write_bytes(data)
        assert png_cut_short(str(path)) is None, name
