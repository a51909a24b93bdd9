# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An image listed as a video is named by ``CheckedVideoDataset`` from its
first bytes, as inference names it, without FFmpeg's lines on stderr.

Before, the dataset's check opened it with decord by its path (decord 0.6
opens no image file), and a damaged JPEG made FFmpeg print ``[mjpeg @
0x55...] No JPEG data found in image`` and five filter error lines for
each check of it.
"""
import os
import re

import cv2
import numpy as np
import pytest
from broken_videos import write_list
from checked_videos import build_checked, dataset_warnings, tiny_pipeline
from helpers import TINY_VIDEO_CONFIG
from mmengine.config import Config

from mmadaptformer.apis import InferenceInputError, TestInputs
from mmadaptformer.datasets import BrokenVideoError

#: A line of FFmpeg's log: ``[mjpeg @ 0x55d0c8e1a400] ...``.
FFMPEG_LINE = re.compile(r'\[\w+ @ 0x[0-9a-f]+\]')


@pytest.fixture
def listed(tmp_path, video_files):
    """A folder with a good video and a JPEG cut short named
    ``photo.mp4``."""
    folder = tmp_path / 'videos'
    folder.mkdir()
    good = video_files['good'][0]
    os.symlink(os.path.join(video_files['videos'], good), folder / good)
    image = np.zeros((32, 32, 3), np.uint8)
    image[:, ::4] = 200
    (folder / 'photo.mp4').write_bytes(
        cv2.imencode('.jpg', image)[1].tobytes()[:300])
    return dict(videos=str(folder), good=good, photo=str(folder / 'photo.mp4'))


def _no_ffmpeg_line(capfd) -> None:
    out, err = capfd.readouterr()
    assert FFMPEG_LINE.search(out + err) is None, err[-3000:]


def test_test_mode_names_it_when_built_as_inference_does(
        tmp_path, listed, capfd):
    ann = write_list(tmp_path / 'val.txt',
                     [f'{listed["good"]} 0', 'photo.mp4 1'])
    with pytest.raises(BrokenVideoError) as error:
        build_checked(
            ann,
            listed,
            test_mode=True,
            pipeline=tiny_pipeline('val_pipeline'))
    _no_ffmpeg_line(capfd)
    refusal = (f'{listed["photo"]}: cannot be decoded as a video: it is a '
               'JPEG image, not a video')
    assert f'\n  {ann}:2: {refusal}\n' in str(error.value), str(error.value)
    with pytest.raises(InferenceInputError) as inference:
        TestInputs(Config.fromfile(TINY_VIDEO_CONFIG))(listed['photo'])
    _no_ffmpeg_line(capfd)
    assert str(inference.value) == f'{refusal}.'


def test_training_skips_it_without_ffmpeg_lines(tmp_path, listed, log_records,
                                                capfd):
    ann = write_list(tmp_path / 'train.txt',
                     ['photo.mp4 1', f'{listed["good"]} 0'])
    dataset = build_checked(ann, listed, num_classes=2)
    np.random.seed(0)
    data = dataset[0]
    _no_ffmpeg_line(capfd)
    # Another draw may pick it again: each time it is skipped alike.
    skipped = data['data_samples'].metainfo['skipped_videos']
    assert skipped and set(skipped) == {listed['photo']}, skipped
    warnings = dataset_warnings(log_records)
    assert warnings == [
        f'CheckedVideoDataset: skipping broken video {listed["photo"]} '
        f'({ann}:1): BrokenVideoError: {listed["photo"]}: cannot be decoded '
        'as a video: it is a JPEG image, not a video; drawing another sample'
    ] * len(skipped), warnings


def test_skip_broken_drops_it_without_ffmpeg_lines(tmp_path, listed,
                                                   log_records, capfd):
    """``skip_broken=True`` names it from its first bytes as the other
    checks do; before, its scan opened it with decord, and FFmpeg printed
    its lines."""
    ann = write_list(tmp_path / 'val.txt',
                     [f'{listed["good"]} 0', 'photo.mp4 1'])
    dataset = build_checked(
        ann,
        listed,
        test_mode=True,
        skip_broken=True,
        pipeline=tiny_pipeline('val_pipeline'))
    _no_ffmpeg_line(capfd)
    assert [dataset.get_data_info(i)['filename'] for i in range(len(dataset))
            ] == [os.path.join(listed['videos'], listed['good'])]
    warnings = dataset_warnings(log_records)
    assert len(warnings) == 1, warnings
    assert (f'{listed["photo"]}: cannot be decoded as a video: it is a '
            'JPEG image, not a video') in warnings[0], warnings[0]
