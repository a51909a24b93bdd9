# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An image saved under a video's name, and a video under an image's, are
named for what they are when they fail to decode.

A PNG named ``clip.mp4`` was ``cannot be decoded as a video: its first
bytes match no video container (AVI, MP4/MOV, ...): b'\\x89PNG...'
(DECORDError: [11:13:35] /github/workspace/src/video/video_reader.cc:270:
[BytesIO] Failed to measure ...)``: the bytes, not what they are, and
decord's log time and build path before its message. It is now named
from its first bytes alone (decord opens no image; FFmpeg printed its
decoder's lines about a damaged one: tests/test_tools/
test_infer_image_named_video*.py). An MP4 named
``img.png`` was ``its first bytes match no image format (...):
b'\\x00\\x00\\x00\\x1cftypisom...'``.
"""

import cv2
import numpy as np
import pytest
from media_files import write_clip
from mmengine.config import Config
from repo_paths import TINY_VIDEO_CONFIG

from mmadaptformer.apis import InferenceInputError, TestInputs


def _image(path: str) -> str:
    image = np.zeros((32, 32, 3), np.uint8)
    image[:, ::4] = 200
    assert cv2.imwrite(path, image)
    return path


def _video(path: str) -> str:
    return write_clip(path, num_frames=8)


@pytest.mark.parametrize('ext, name', [('.png', 'PNG'), ('.jpg', 'JPEG'),
                                       ('.bmp', 'BMP')])
def test_an_image_named_as_a_video_is_named_an_image(tmp_path, ext, name):
    image = _image(str(tmp_path / f'still{ext}'))
    clip = tmp_path / 'clip.mp4'
    clip.write_bytes(open(image, 'rb').read())
    inputs = TestInputs(Config.fromfile(TINY_VIDEO_CONFIG))
    with pytest.raises(InferenceInputError) as error:
        inputs(str(clip))
    message = str(error.value)
    # Told by its first bytes: decord (which opens no image) is not asked,
    # so neither its message nor FFmpeg's lines come with it.
    assert message == (
        f'{clip}: cannot be decoded as a video: it is a {name} image, not a '
        'video.'), message


def test_decords_log_prefix_is_left_out():
    """``[HH:MM:SS] path/file.cc:LINE: `` goes; decord's message stays."""
    from mmadaptformer.utils.video_containers import one_line_error
    error = RuntimeError('[11:13:35] /github/workspace/src/video/'
                         'video_reader.cc:270: [clip.mp4] Failed to measure '
                         'duration/frame-count due to broken metadata.')
    assert one_line_error(error) == (
        'RuntimeError: [clip.mp4] Failed to measure duration/frame-count '
        'due to broken metadata.')
    # A bracketed time that is no log prefix is kept.
    kept = ValueError('at [11:13:35] the run stopped')
    assert one_line_error(kept) == 'ValueError: at [11:13:35] the run stopped'


def test_a_video_named_as_an_image_is_named_a_video(tmp_path):
    from mmadaptformer.utils.image_files import image_damage
    video = _video(str(tmp_path / 'clip.mp4'))
    still = tmp_path / 'still.png'
    still.write_bytes(open(video, 'rb').read())
    assert image_damage(str(still)) == ': it is an MP4/MOV video, not an image'
    # One byte of MPEG-TS's sync is no proof: a text file is no video.
    text = tmp_path / 'notes.png'
    text.write_bytes(b'GET / HTTP/1.1\r\n')
    damage = image_damage(str(text))
    assert damage.startswith(': its first bytes match no image format')
