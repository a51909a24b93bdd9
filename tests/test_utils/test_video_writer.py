# Copyright (c) mmadaptformer contributors. All rights reserved.
"""write_video says why OpenCV cannot open a writer when decord was
imported first (its FFmpeg libraries break OpenCV's VP9 encoder)."""
import subprocess
import sys

SCRIPT = """
import sys
import numpy as np
{first}
from mmadaptformer.testing import write_video
try:
    write_video(sys.argv[1], np.zeros((4, 32, 32, 3), np.uint8))
except RuntimeError as e:
    print('ERROR', e)
else:
    print('WROTE')
"""


def _write(tmp_path, first):
    proc = subprocess.run([
        sys.executable, '-c',
        SCRIPT.format(first=first),
        str(tmp_path / 'clip.webm')
    ],
                          stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL,
                          text=True,
                          timeout=120)
    return proc.stdout


def test_webm_writer_after_decord_says_why(tmp_path):
    # The pinned decord and opencv-python clash (libvpx ABI mismatch).
    out = _write(tmp_path, 'import decord  # noqa: F401')
    assert 'could not open a VP90 writer' in out, out
    assert 'decord was imported before' in out, out
    # Without decord first, the same call writes the file.
    assert 'WROTE' in _write(tmp_path, '')
