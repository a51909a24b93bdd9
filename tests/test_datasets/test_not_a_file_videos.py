# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A folder, a FIFO or a missing file listed as a video is named by
``CheckedVideoDataset`` when a sample is loaded, in training and in test
mode, and never read.

``prepare_data`` checked the container only of paths ``osp.isfile`` took
(an extra stat a sample) and left the others to ``DecordInit``: a FIFO
hung the loading worker (decord waited on it), a folder was named by
``IsADirectoryError``.
"""
import os
import threading

import numpy as np
import pytest
from broken_videos import write_list
from checked_videos import build_checked, dataset_warnings, tiny_pipeline


@pytest.fixture
def videos(tmp_path, video_files):
    """A folder with links to the four good videos of ``video_files``."""
    folder = tmp_path / 'videos'
    folder.mkdir()
    for name in video_files['good']:
        os.symlink(os.path.join(video_files['videos'], name), folder / name)
    return dict(videos=str(folder), good=video_files['good'])


def _make(kind: str, path: str) -> None:
    if kind == 'folder':
        os.mkdir(path)
    elif kind == 'fifo':
        os.mkfifo(path)


#: kind: what the error says after the path.
NOT_FILES = {
    'missing': "No such file or directory: '{path}'",
    'folder': '{path}: it is a folder, not a video file',
    'fifo': '{path}: it is a FIFO, not a video file',
}


@pytest.mark.parametrize('test_mode', [False, True])
@pytest.mark.parametrize('kind', sorted(NOT_FILES))
def test_a_folder_fifo_or_missing_file_is_named_not_read(
        tmp_path, videos, log_records, kind, test_mode):
    """The folder's and the missing file's errors named them before too
    (``IsADirectoryError`` from ``DecordInit``); the FIFO hung the load."""
    path = os.path.join(videos['videos'], 'clip.mp4')
    _make(kind, path)
    ann = write_list(tmp_path / 'list.txt',
                     ['clip.mp4 1'] + [f'{good} 0' for good in videos['good']])
    pipeline = tiny_pipeline('val_pipeline' if test_mode else 'train_pipeline')
    # check_files=None: nothing is checked when the dataset is built.
    dataset = build_checked(
        ann,
        videos,
        num_classes=2,
        test_mode=test_mode,
        check_files=None,
        pipeline=pipeline)
    np.random.seed(0)
    result = {}

    def load():
        try:
            result['data'] = dataset[0]
        except Exception as e:
            result['error'] = e

    loading = threading.Thread(target=load, daemon=True)
    loading.start()
    loading.join(60)
    if loading.is_alive():
        # A reader waits for a writer: open and close one to end it.
        with open(path, 'wb'):
            pass
        loading.join(60)
        pytest.fail(f'loading {kind} {path} waited on it')
    why = NOT_FILES[kind].format(path=path)
    if test_mode:
        assert str(result['error']).startswith(
            f'Cannot load {path} ({ann}:1) for evaluation: '), result
        assert why in str(result['error'])
    else:
        assert result['data']['data_samples'].metainfo['skipped_videos'] \
            == [path]
        warned = dataset_warnings(log_records)
        assert len(warned) == 1 and why in warned[0], warned
        assert f'skipping broken video {path} ({ann}:1): ' in warned[0]
