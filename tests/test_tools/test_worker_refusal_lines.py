# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A data refusal raised in a DataLoader worker (``num_workers > 0``, the
recipes' setting) ends the tool on the worker's own message.

torch re-raises a worker's error in the main process as the same type
with the message ``Caught ShortVideoError in DataLoader worker process
0.\\nOriginal Traceback (most recent call last): ...``, and the tools
printed that whole traceback instead of the one line they print with
``num_workers=0``.
"""
import os.path as osp
import re

import pytest
import torch
from broken_images import stripes_with_broken_images
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, image_data_cfg,
                     run_tool, save_as_built_checkpoint, video_data_cfg,
                     write_config)
from refusal_lines import refused_line

from mmadaptformer.datasets import BrokenVideoError
from mmadaptformer.engine.refusals import refusal_line, worker_message

#: What the tools must not print for a refusal.
WORKER_TEXT = ['DataLoader worker', 'Caught ', 'Original Traceback']


def _tiny_video_root(tmp_path, tiny_video_data):
    """``tmp_path/data/tiny_video``, the tiny config's data_root, linked to
    the tiny videos (16 frames each)."""
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'tiny_video').symlink_to(
        osp.dirname(tiny_video_data['videos']))


def test_training_videos_all_short_in_a_worker(tmp_path, tiny_video_data):
    _tiny_video_root(tmp_path, tiny_video_data)
    proc = run_tool([
        'train.py', TINY_VIDEO_CONFIG, '--work-dir', tmp_path / 'w',
        '--cfg-options', 'train_dataloader.num_workers=1',
        'train_dataloader.persistent_workers=True',
        'train_dataloader.dataset.short_videos=skip',
        'train_dataloader.dataset.min_frames=100'
    ],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, absent=WORKER_TEXT)
    # The line it is with num_workers=0 (tests/test_tools/
    # test_data_refusals.py), the videos drawn aside.
    assert line.startswith(
        'ShortVideoError: CheckedVideoDataset: the 11 samples drawn in a row '
        'from data/tiny_video/train.txt (max_refetch=10) were all videos '
        "shorter than a clip, skipped with short_videos='skip' (none was "
        'broken): '), line
    assert line.endswith(
        "Set short_videos='report' to train on them with repeated frames, "
        'lower min_frames or the clip span, or list longer videos.'), line


def test_a_message_of_several_lines_from_a_worker(tmp_path, tiny_video_data):
    """Training videos that are all broken: ``BrokenVideoError`` lists the
    samples tried, one a line, as with ``num_workers=0``."""
    _tiny_video_root(tmp_path, tiny_video_data)  # validation
    videos = tmp_path / 'videos'
    videos.mkdir()
    (videos / 'text.avi').write_text('not a video\n' * 20)
    listed = tmp_path / 'broken.txt'
    listed.write_text('text.avi 0\ntext.avi 1\n')
    proc = run_tool([
        'train.py', TINY_VIDEO_CONFIG, '--work-dir', tmp_path / 'w',
        '--cfg-options', 'train_dataloader.num_workers=1',
        'train_dataloader.persistent_workers=True',
        f'train_dataloader.dataset.ann_file={listed}',
        f'train_dataloader.dataset.data_prefix.video={videos}',
        'train_dataloader.dataset.max_refetch=1'
    ],
                    cwd=tmp_path,
                    check=False)
    refused_line(proc, absent=WORKER_TEXT)
    tried = (rf'  {re.escape(str(videos / "text.avi"))} '
             rf'\({re.escape(str(listed))}:[12]\): BrokenVideoError: '
             rf'{re.escape(str(videos / "text.avi"))}: it is text, not a '
             r"video: b'not a video\\nnot '\n")
    assert re.search(
        r'^BrokenVideoError: CheckedVideoDataset: 2 samples in a row of ' +
        re.escape(f'{listed} could not be loaded (max_refetch=1); tried:') +
        rf'\n{tried}{tried}', proc.stdout, re.M), proc.stdout[-3000:]


def test_broken_evaluation_image_in_a_worker(tmp_path):
    """tools/test.py, ``num_workers=1``: the worker's error was raised from
    the decoder's, whose traceback came first in torch's message."""
    broken = stripes_with_broken_images(str(tmp_path / 'data'))['val']
    root = str(tmp_path / 'data')
    body = image_data_cfg(root) + (
        'test_dataloader = dict(num_workers=1, persistent_workers=True, '
        "dataset=dict(type='CheckedImageDataset', "
        f'data_root={root!r}, test_mode=True))\n')
    config = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG, body)
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'model.pth')
    proc = run_tool(
        ['test.py', config, checkpoint, '--work-dir', tmp_path / 'work'],
        cwd=tmp_path,
        check=False)
    line = refused_line(proc, absent=['accuracy/top1'] + WORKER_TEXT)
    assert re.fullmatch(
        r'BrokenImageError: Cannot load (\S+) for evaluation: .+ Replace it, '
        'or remove it from the dataset.', line), line
    assert re.match(r'BrokenImageError: Cannot load (\S+) ',
                    line).group(1) in broken.values(), line


def test_broken_evaluation_video_in_a_worker(tmp_path, tiny_video_data):
    """tools/test.py, ``num_workers=1``, a test list that names as a video
    a file of no container, with the check of the list when the dataset is
    built turned off (``check_files=None``; with it on, that check refuses
    the file before any worker starts): the worker's own check of the
    sample refuses it."""
    videos = tmp_path / 'videos'
    videos.mkdir()
    (videos / 'text.avi').write_bytes(b'\x00' * 240)
    listed = tmp_path / 'test.txt'
    listed.write_text('text.avi 0\n')
    body = video_data_cfg(tiny_video_data) + (
        'test_dataloader = dict(num_workers=1, persistent_workers=True, '
        f'dataset=dict(ann_file={str(listed)!r}, check_files=None, '
        f'data_prefix=dict(video={str(videos)!r})))\n')
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG, body)
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'model.pth')
    proc = run_tool(
        ['test.py', config, checkpoint, '--work-dir', tmp_path / 'work'],
        cwd=tmp_path,
        check=False)
    line = refused_line(proc, absent=['acc/top1'] + WORKER_TEXT)
    assert line.startswith(
        f'BrokenVideoError: Cannot load {videos / "text.avi"} ({listed}:1) '
        'for evaluation: '), line
    assert line.endswith(
        'Replace the file, remove it from the annotation list, or set '
        'skip_broken=True to drop broken videos when the dataset is '
        'built.'), line


class _Refuses(torch.utils.data.Dataset):
    """Raises ``error`` (from ``cause``) for every sample."""

    def __init__(self, error: Exception, cause: Exception) -> None:
        self.error, self.cause = error, cause

    def __len__(self) -> int:
        return 1

    def __getitem__(self, idx: int):
        raise self.error from self.cause


def _from_worker(error: Exception, cause: Exception) -> Exception:
    """``error`` as torch re-raises it from a DataLoader worker."""
    loader = torch.utils.data.DataLoader(_Refuses(error, cause), num_workers=1)
    with pytest.raises(type(error)) as info:
        next(iter(loader))
    assert str(info.value).startswith('Caught '), info.value
    return info.value


@pytest.mark.parametrize('message', [
    'one line', 'tried:\n  a.mp4: broken\n  b.mp4: broken',
    'Traceback (most recent call last): in the message'
])
def test_worker_message_is_the_last_error_of_the_traceback(message):
    """The worker's error, raised from one of the same type: its own
    message, all its lines."""
    exc = _from_worker(
        BrokenVideoError(message), BrokenVideoError('the cause, not this'))
    assert worker_message(exc) == message
    assert refusal_line(exc) == f'BrokenVideoError: {message}'


def test_an_error_of_the_main_process_is_kept():
    """Guard of kept behaviour: an error the main process raised is
    printed as its message, even one that reads like torch's."""
    assert worker_message(BrokenVideoError('a.mp4: broken')) is None
    assert refusal_line(
        BrokenVideoError('a.mp4: broken')) == 'BrokenVideoError: a.mp4: broken'
    text = ('Caught BrokenVideoError in DataLoader worker process 0.\n'
            'Original Traceback (most recent call last):\n  no error\n')
    assert worker_message(BrokenVideoError(text)) is None
    assert worker_message(FileNotFoundError(text)) is None
