# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A video decord 0.6 cannot decode but OpenCV reads (48 pixels wide) is
named as decord's failure, not as a file that "cannot be decoded".

Before, inference said ``cannot be decoded as a video (DECORDError: ...
DECORDArrayCopyFromTo: The size must exactly match)``, evaluation said
``Cannot load ... Replace the file``, and ``skip_broken`` and training
dropped it as a broken file, though players and OpenCV read it.
"""
import logging
import os.path as osp

import cv2
import numpy as np
import pytest
from checkpoint_makers import save_stock_video_checkpoint
from mmengine.config import Config
from repo_paths import TINY_VIDEO_CONFIG

from mmadaptformer.apis import ModelInferencer
from mmadaptformer.datasets import BrokenVideoError, CheckedVideoDataset
from mmadaptformer.utils.video_probe import scan_video

SAID = ('decord cannot decode it, though the file itself is readable: '
        'OpenCV decodes its frames (48x40); decord 0.6 fails on some frame '
        'sizes, 48 pixels wide among them: re-encode the video at another '
        "size, or read it with mmaction2's OpenCVInit and OpenCVDecode in "
        'place of DecordInit and DecordDecode in the pipeline (')


def _write(path: str, width: int, height: int) -> str:
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 8,
                             (width, height))
    for t in range(16):
        writer.write(np.full((height, width, 3), 12 * t, np.uint8))
    writer.release()
    return path


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp('decord_width')
    narrow = _write(str(root / 'narrow.mp4'), 48, 40)
    good = _write(str(root / 'good.mp4'), 32, 32)
    return dict(root=root, narrow=narrow, good=good)


def test_the_scan_names_decord(videos):
    """The scan of ``skip_broken`` reads the last frame as DecordDecode
    does, in a batch: decord decodes that frame alone."""
    assert scan_video(videos['good']) is None
    assert scan_video(videos['narrow']).startswith(f'{SAID}DECORDError: ')


def test_evaluation_names_decord(videos):
    ann = videos['root'] / 'val.txt'
    ann.write_text('narrow.mp4 0\n')
    dataset = CheckedVideoDataset(
        ann_file=str(ann),
        data_prefix=dict(video=str(videos['root'])),
        pipeline=Config.fromfile(TINY_VIDEO_CONFIG).val_pipeline,
        test_mode=True)
    with pytest.raises(BrokenVideoError) as info:
        dataset[0]
    message = str(info.value)
    assert message.startswith(f"Cannot load {videos['narrow']} ({ann}:1) "
                              f'for evaluation: {SAID}DECORDError: '), message
    assert 'Replace the file' not in message


def test_training_warning_names_decord(videos, log_records):
    ann = videos['root'] / 'train.txt'
    ann.write_text('narrow.mp4 1\ngood.mp4 0\n')
    dataset = CheckedVideoDataset(
        ann_file=str(ann),
        data_prefix=dict(video=str(videos['root'])),
        pipeline=Config.fromfile(TINY_VIDEO_CONFIG).train_pipeline,
        num_classes=2)
    dataset[0]
    warnings = [
        r.getMessage() for r in log_records if r.levelno == logging.WARNING
        and 'skipping broken' in r.getMessage()
    ]
    # Another draw may land on it again; each says the same.
    assert warnings and all(
        f'{SAID}DecordDecode (pipeline[2]) failed: DECORDError: ' in w
        for w in warnings), warnings


def test_inference_names_decord(videos):
    checkpoint = str(videos['root'] / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    results = ModelInferencer(TINY_VIDEO_CONFIG,
                              checkpoint)([videos['narrow'], videos['good']])
    assert results[videos['narrow']]['error'].startswith(
        f"{videos['narrow']}: {SAID}DECORDError: "), results
    assert 'error' not in results[videos['good']]
    assert osp.isfile(videos['narrow'])
