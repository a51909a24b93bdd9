# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An image named as a video (``clip.mp4``) is refused by tools/infer.py
from its first bytes, as what it is, without FFmpeg's lines on stderr.

Before, it was opened by decord by its path first (decord 0.6 opens no
image file), and a damaged one made FFmpeg's image decoders print their
own lines to stderr around the refusal: ``[mjpeg @ 0x55...] No JPEG data
found in image``, ``[png @ 0x55...] chunk too big``, then five lines of
``[buffer @ 0x55...]``/``[in @ 0x55...]`` filter errors.
"""
import json
import re

import cv2
import numpy as np
from media_files import write_clip
from tool_runners import run_tool

#: A line of FFmpeg's log: ``[mjpeg @ 0x55d0c8e1a400] ...``.
FFMPEG_LINE = re.compile(r'\[\w+ @ 0x[0-9a-f]+\]')


def _cut_image(path, ext: str) -> str:
    """An image's first 300 bytes (a download cut short), named ``path``."""
    image = np.zeros((32, 32, 3), np.uint8)
    image[:, ::4] = 200
    data = cv2.imencode(ext, image)[1].tobytes()
    assert len(data) > 300
    path.write_bytes(data[:300])
    return str(path)


def test_infer_names_images_named_as_videos_without_ffmpeg_lines(
        stock_video_model, tmp_path):
    jpeg = _cut_image(tmp_path / 'photo.mp4', '.jpg')
    png = _cut_image(tmp_path / 'still.webm', '.png')
    clip = write_clip(str(tmp_path / 'clip.mp4'), num_frames=12)
    proc = run_tool([
        'infer.py', stock_video_model['config'],
        stock_video_model['checkpoint'], jpeg, png, clip, '--out', '-'
    ],
                    cwd=str(tmp_path),
                    check=False,
                    separate_stderr=True)
    assert FFMPEG_LINE.search(proc.stderr) is None, proc.stderr[-3000:]
    assert proc.returncode == 1, proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    assert results[jpeg] == dict(
        error=f'{jpeg}: cannot be decoded as a video: it is a JPEG image, '
        'not a video.')
    assert results[png] == dict(
        error=f'{png}: cannot be decoded as a video: it is a PNG image, '
        'not a video.')
    assert set(results[clip]) == {'tiny'}, results[clip]
    # The refusals themselves are still said on stderr, one line each.
    assert f'{jpeg}: ERROR {jpeg}: cannot be decoded as a video: it is a ' \
        'JPEG image, not a video.' in proc.stderr, proc.stderr[-3000:]
