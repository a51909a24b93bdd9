# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A clip of PNG frames read with an offset (mmaction2's ``RawframeDataset``
with ``with_offset=True``): in a process that cannot decode PNG images
(decord imported before cv2) the error names the frame ``RawFrameDecode``
reads, ``frame_inds[0] + offset``. Runs in a fresh process, as the import
order is the process's."""
import json

from helpers import run_fresh_python

# argv: a folder for the clip.
_SCRIPT = '''
import decord  # noqa: F401  (first: OpenCV then cannot decode PNG)
import json, os, os.path as osp, sys

import cv2
import numpy as np

from mmadaptformer.utils.png_decoding import frame_png_decoding_error

clip = sys.argv[1]
os.makedirs(clip, exist_ok=True)
# Frames 11 to 14 only: frame_inds [1, 2] with offset 10 read them.
for index in range(11, 15):
    cv2.imwrite(osp.join(clip, f'img_{index:05}.png'),
                np.full((8, 8, 3), index, dtype=np.uint8))
error = frame_png_decoding_error(
    dict(frame_dir=clip, filename_tmpl='img_{:05}.png',
         frame_inds=np.array([1, 2]), offset=10, modality='RGB'))
print('RESULT ' + json.dumps(dict(type=type(error).__name__,
                                  message=str(error))))
'''


def test_png_error_names_the_frame_read_at_its_offset(tmp_path):
    """Guards the mutation that drops ``results['offset']`` in
    frame_png_decoding_error (it named no error: frame 1 is not there)."""
    clip = str(tmp_path / 'clip')
    proc = run_fresh_python(_SCRIPT, clip, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith('RESULT '))
    out = json.loads(line[len('RESULT '):])
    assert out['type'] == 'PngDecodingError', out
    assert out['message'].startswith(
        f'{clip}: frame img_00011.png (the first that RawFrameDecode reads) '
        'is a PNG image that is not broken'), out
