# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every video (image) of a validation or test list is checked when its
dataset is built: a missing or truncated one stopped the run only at the
first validation, epochs into it."""
import os
import os.path as osp
import re

import pytest
from broken_videos import video_path, write_list
from helpers import TINY_VIDEO_CONFIG
from mmengine.config import Config
from mmengine.registry import DefaultScope
from tool_runners import run_tool

from mmadaptformer.datasets import (BrokenImageError, BrokenVideoError,
                                    CheckedImageDataset, CheckedVideoDataset)
from mmadaptformer.testing import (make_moving_square_dataset,
                                   make_stripes_dataset)


def _val(ann_file, files, **kwargs) -> CheckedVideoDataset:
    return CheckedVideoDataset(
        ann_file=ann_file,
        data_prefix=dict(video=files['videos']),
        pipeline=Config.fromfile(TINY_VIDEO_CONFIG)['val_pipeline'],
        test_mode=True,
        **kwargs)


def test_test_mode_names_every_missing_and_truncated_video(
        tmp_path, video_files):
    """A sample of 1 of 7 videos is looked up in training; in test mode all
    7 are, with their headers, and one error names each bad one."""
    good = video_files['good']
    ann = write_list(tmp_path / 'val.txt', [
        f'{good[0]} 0', f'{video_files["trunc_webm"]} 1', f'{good[1]} 0',
        'gone.mp4 1', f'{video_files["empty"]} 0', f'{good[2]} 1',
        f'{video_files["trunc_avi"]} 0'
    ])
    with pytest.raises(BrokenVideoError) as info:
        _val(ann, video_files, check_sample_size=1)
    lines = str(info.value).splitlines()
    assert lines[0] == (
        f'4 of 7 videos of {ann} are missing or broken; evaluation would '
        'stop at the first of them (test_mode=True: every video is checked '
        'when the dataset is built):')
    path = video_path(video_files, video_files['trunc_webm'])
    assert lines[1].startswith(
        f'  {ann}:2: {path}: truncated WebM/Matroska file')
    assert lines[2] == (f'  {ann}:4: {video_path(video_files, "gone.mp4")}: '
                        'the file is missing')
    assert lines[3] == (f'  {ann}:5: '
                        f'{video_path(video_files, video_files["empty"])}: '
                        'the file is empty (0 bytes)')
    assert lines[4].startswith(
        f'  {ann}:7: {video_path(video_files, video_files["trunc_avi"])}: '
        'truncated RIFF/AVI file')
    assert 'skip_broken=True' in lines[5]
    # Training looks up its sample only: broken videos are skipped there.
    train = CheckedVideoDataset(
        ann_file=ann,
        data_prefix=dict(video=video_files['videos']),
        pipeline=Config.fromfile(TINY_VIDEO_CONFIG)['train_pipeline'],
        check_sample_size=1)
    assert len(train) == 7


def test_test_mode_with_only_missing_videos_is_a_file_not_found_error(
        tmp_path, video_files):
    ann = write_list(tmp_path / 'val.txt',
                     [f'{n} 0' for n in video_files['good']] + ['gone.mp4 1'])
    with pytest.raises(
            FileNotFoundError,
            match=re.escape(f'{ann}:5: '
                            f'{video_path(video_files, "gone.mp4")}: '
                            'the file is missing')):
        _val(ann, video_files, check_sample_size=1)


def test_kept_behaviour_check_files_none_and_skip_broken(
        tmp_path, video_files):
    """Kept behaviour: ``check_files=None`` checks nothing (evaluation
    names the file when it reads it), and ``skip_broken=True`` drops the
    broken videos after its scan instead of refusing them."""
    good = video_files['good']
    ann = write_list(tmp_path / 'val.txt',
                     [f'{n} 0' for n in good] + [f'{video_files["empty"]} 1'])
    assert len(_val(ann, video_files, check_files=None)) == 5
    assert len(_val(ann, video_files, skip_broken=True)) == 4


def _image_dataset(root, lines, **kwargs) -> CheckedImageDataset:
    (root / 'list.txt').write_text(''.join(f'{x}\n' for x in lines))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return CheckedImageDataset(
            data_root=str(root),
            ann_file='list.txt',
            data_prefix='val',
            classes=['horizontal', 'vertical'],
            pipeline=[dict(type='LoadImageFromFile')],
            **kwargs)


def test_test_mode_image_list_names_missing_and_empty_images(tmp_path):
    make_stripes_dataset(str(tmp_path))
    names = sorted(f'{c}/{n}' for c in ('horizontal', 'vertical')
                   for n in os.listdir(tmp_path / 'val' / c))
    lines = [f'{n} {int(n.startswith("vertical"))}' for n in names]
    (tmp_path / 'val' / 'horizontal' / 'empty.png').write_bytes(b'')
    lines += ['horizontal/empty.png 0', 'horizontal/gone.png 0']
    with pytest.raises(BrokenImageError) as info:
        _image_dataset(tmp_path, lines, test_mode=True)
    message = str(info.value)
    ann = f'{tmp_path}/list.txt'
    assert message.startswith(f'2 of {len(lines)} images of {ann} are '
                              'missing or broken')
    assert (f'{ann}:{len(lines) - 1}: {tmp_path}/val/horizontal/empty.png: '
            'the file is empty (0 bytes)') in message
    assert (f'{ann}:{len(lines)}: {tmp_path}/val/horizontal/gone.png: '
            'the file is missing') in message
    # Kept behaviour: training looks up a sample, and skips empty images.
    assert len(_image_dataset(tmp_path, lines[:-1])) == len(lines) - 1


def _tiny_video_data(tmp_path) -> str:
    root = tmp_path / 'data' / 'tiny_video'  # the tiny config's data_root
    make_moving_square_dataset(str(root))
    video = root / 'videos' / 'val_1_2.mp4'
    data = video.read_bytes()
    video.write_bytes(data[:len(data) // 2])  # a download cut short
    return 'data/tiny_video/val.txt:7: data/tiny_video/videos/val_1_2.mp4'


def test_train_py_refuses_a_truncated_val_video_before_training(tmp_path):
    """What a user ran: training with val_interval=2 trained two epochs,
    saved, then died at the first validation on the truncated video."""
    where = _tiny_video_data(tmp_path)
    proc = run_tool([
        'train.py', TINY_VIDEO_CONFIG, '--work-dir', 'w', '--cfg-options',
        'train_cfg.max_epochs=3', 'train_cfg.val_interval=2'
    ],
                    tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert 'Epoch(train)' not in proc.stdout, proc.stdout[-3000:]
    assert 'Traceback' not in proc.stdout
    assert f'{where}: truncated MP4/MOV file: box ' in proc.stdout
    assert not osp.exists(tmp_path / 'w' / 'epoch_1.pth')


def test_test_py_refuses_a_truncated_test_video_before_testing(tmp_path):
    """tools/test.py met it only when the test loop reached it."""
    where = _tiny_video_data(tmp_path)
    train = run_tool([
        'train.py', TINY_VIDEO_CONFIG, '--work-dir', 'w', '--no-validate',
        '--cfg-options', 'train_cfg.max_epochs=1'
    ], tmp_path)
    assert train.returncode == 0
    proc = run_tool(['test.py', TINY_VIDEO_CONFIG, 'w/epoch_1.pth'],
                    tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert 'Epoch(test)' not in proc.stdout, proc.stdout[-3000:]
    assert f'{where}: truncated MP4/MOV file: box ' in proc.stdout
