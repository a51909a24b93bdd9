# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Bytes of no video container listed as a video (random data, a JPEG
renamed ``.mp4``, a header cut after three bytes) are named by
``CheckedVideoDataset`` by the rule inference follows, and decord is never
handed their bytes.

Before, such bytes reached mmaction2's ``DecordInit``, which hands decord
a file's bytes: decord 0.6 printed them to stderr as the file's name, up
to the first NUL byte (a terminal's escape sequences included), and a
test-mode list took the file as whole when the dataset was built.
"""
import os
import random

import cv2
import numpy as np
import pytest
from broken_videos import write_list
from checked_videos import build_checked, dataset_warnings, tiny_pipeline
from helpers import TINY_VIDEO_CONFIG
from mmengine.config import Config

from mmadaptformer.apis import InferenceInputError, TestInputs
from mmadaptformer.datasets import BrokenVideoError

#: Marks a file's bytes: they must not reach stderr.
MARKER = 'BYTES-OF-THE-FILE'
#: Clears a terminal, if printed.
ESCAPE = '\x1b[2J'
#: What each kind of file starts the clause after "cannot be decoded as a
#: video" with.
NO_CONTAINER = (': its first bytes match no video container (AVI, '
                'MP4/MOV, WebM/Matroska, MPEG, FLV, Ogg): ')


def _random_bytes() -> bytes:
    rng = random.Random(0)
    return (b'\x01' + f'{MARKER}{ESCAPE}'.encode() +
            bytes(rng.randrange(1, 256) for _ in range(4000)))


def _jpeg() -> bytes:
    image = np.zeros((32, 32, 3), np.uint8)
    image[:, ::4] = 200
    return cv2.imencode('.jpg', image)[1].tobytes()


#: name: (bytes, how the clause starts).
KINDS = {
    'random.mp4': (_random_bytes, NO_CONTAINER + "b'\\x01" + MARKER[:15]),
    'photo.mp4': (_jpeg, ': it is a JPEG image, not a video'),
    'cut.mp4': (lambda: b'\0\0\0', NO_CONTAINER + "b'\\x00\\x00\\x00' ("),
}


@pytest.fixture
def videos(tmp_path, video_files):
    """A folder with links to the four good videos of ``video_files``."""
    folder = tmp_path / 'videos'
    folder.mkdir()
    for name in video_files['good']:
        os.symlink(os.path.join(video_files['videos'], name), folder / name)
    return dict(videos=str(folder), good=video_files['good'])


def _assert_not_printed(capfd) -> None:
    out, err = capfd.readouterr()
    assert MARKER not in out + err and ESCAPE not in out + err, err[-2000:]


@pytest.mark.parametrize('name', sorted(KINDS))
def test_training_skips_it_with_the_inference_rules_words(
        tmp_path, videos, log_records, capfd, name):
    write, clause = KINDS[name]
    path = os.path.join(videos['videos'], name)
    with open(path, 'wb') as f:
        f.write(write())
    ann = write_list(tmp_path / 'train.txt',
                     [f'{name} 1'] + [f'{good} 0' for good in videos['good']])
    dataset = build_checked(ann, videos, num_classes=2)
    np.random.seed(0)
    data = dataset[0]
    assert data['data_samples'].metainfo['skipped_videos'] == [path]
    assert data['inputs'].shape == (1, 3, 4, 32, 32)
    warnings = dataset_warnings(log_records)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(
        f'CheckedVideoDataset: skipping broken video {path} ({ann}:1): '
        f'BrokenVideoError: {path}: cannot be decoded as a video{clause}'
    ), warnings[0]
    _assert_not_printed(capfd)


@pytest.mark.parametrize('name', sorted(KINDS))
def test_test_mode_refuses_it_when_built_as_inference_does(
        tmp_path, videos, capfd, name):
    write, clause = KINDS[name]
    path = os.path.join(videos['videos'], name)
    with open(path, 'wb') as f:
        f.write(write())
    ann = write_list(tmp_path / 'val.txt',
                     [f'{videos["good"][0]} 0', f'{name} 1'])
    with pytest.raises(BrokenVideoError) as error:
        build_checked(
            ann,
            videos,
            test_mode=True,
            pipeline=tiny_pipeline('val_pipeline'))
    message = str(error.value)
    assert f'\n  {ann}:2: {path}: cannot be decoded as a video{clause}' \
        in message, message
    # One rule: inference refuses the file in the same words.
    with pytest.raises(InferenceInputError) as refusal:
        TestInputs(Config.fromfile(TINY_VIDEO_CONFIG))(path)
    assert f'{ann}:2: {str(refusal.value)[:-1]}\n' in message, message
    _assert_not_printed(capfd)


def test_only_files_of_no_known_container_are_opened_first(
        tmp_path, videos, monkeypatch):
    """Guards kept behaviour: a video of a known container costs the header
    check alone; only bytes of no container nor image format are opened by
    decord first, and a JPEG named ``.mp4`` is named from its first bytes
    (decord opens no image; FFmpeg printed its decoder's complaints)."""
    from mmadaptformer.utils import unknown_containers
    opened = []
    inspect_video = unknown_containers.inspect_video

    def recording(path, decode_last=True, checked=False):
        opened.append(path)
        return inspect_video(path, decode_last, checked)

    monkeypatch.setattr(unknown_containers, 'inspect_video', recording)
    names = {}
    for name in ('photo.mp4', 'random.mp4'):
        names[name] = os.path.join(videos['videos'], name)
        with open(names[name], 'wb') as f:
            f.write(KINDS[name][0]())
    ann = write_list(tmp_path / 'train.txt',
                     [f'{good} 0' for good in videos['good']] +
                     ['photo.mp4 1', 'random.mp4 1'])
    dataset = build_checked(ann, videos, num_classes=2, check_files=None)
    for i in range(len(videos['good'])):
        dataset.prepare_data(i)
    assert opened == []
    with pytest.raises(BrokenVideoError, match='it is a JPEG image'):
        dataset.prepare_data(len(videos['good']))
    assert opened == []
    with pytest.raises(BrokenVideoError, match='match no video container'):
        dataset.prepare_data(len(videos['good']) + 1)
    assert opened == [names['random.mp4']]
