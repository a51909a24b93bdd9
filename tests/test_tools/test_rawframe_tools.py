# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The tools on the tiny AdaptFormer video config switched to extracted
frames as mmaction2's own rawframe configs are (``RawframeDataset``,
``data_prefix=dict(img=...)``, ``RawFrameDecode``, ``filename_tmpl``)."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool, write_config


def _pipeline(test_mode):
    return [
        dict(
            type='SampleFrames',
            clip_len=4,
            frame_interval=3,
            num_clips=1,
            test_mode=test_mode),
        dict(type='RawFrameDecode'),
        dict(type='Resize', scale=(32, 32), keep_ratio=False),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')
    ]


@pytest.fixture
def rawframes(tmp_path):
    """Frame folders of a square moving right (label 0) or left (1), and
    a config of them."""
    lines = []
    for index in range(4):
        name = f'vid_{index}'
        folder = tmp_path / 'rawframes' / name
        folder.mkdir(parents=True)
        for t in range(1, 13):
            img = np.zeros((40, 40, 3), np.uint8)
            x = 2 * t if index % 2 == 0 else 30 - 2 * t
            img[12:22, x:x + 8] = 255
            cv2.imwrite(str(folder / f'img_{t:05}.jpg'), img)
        lines.append(f'{name} 12 {index % 2}')
    (tmp_path / 'train.txt').write_text('\n'.join(lines) + '\n')
    loaders = []
    for loader, test_mode in (('train', False), ('val', True), ('test', True)):
        dataset = dict(
            _delete_=True,
            type='RawframeDataset',
            ann_file=str(tmp_path / 'train.txt'),
            data_prefix=dict(img=str(tmp_path / 'rawframes')),
            filename_tmpl='img_{:05}.jpg',
            pipeline=_pipeline(test_mode),
            test_mode=test_mode)
        loaders.append(f'{loader}_dataloader = dict(dataset={dataset!r})\n')
    body = ''.join(loaders) + (
        'train_cfg = dict(max_epochs=1)\n'
        "custom_hooks = [dict(type='AdapterHook', allow_random_backbone=True,"
        ' adapter_only_checkpoint=False)]\n')
    return tmp_path, write_config(tmp_path / 'cfg.py',
                                  TINY_ADAPTFORMER_VIDEO_CONFIG, body)


def test_train_test_on_frame_folders(rawframes, tiny_video_data):
    root, cfg = rawframes
    work = str(root / 'work')
    run_tool(['train.py', cfg, '--work-dir', work], cwd=str(root))
    checkpoint = osp.join(work, 'epoch_1.pth')
    out = run_tool(['test.py', cfg, checkpoint, '--work-dir', work],
                   cwd=str(root)).stdout
    assert 'acc/top1' in out
    # A video file given to infer.py with this config was "cannot be
    # decoded as a video (KeyError: 'total_frames')".
    video = osp.join(tiny_video_data['videos'], 'val_0_0.mp4')
    proc = run_tool(['infer.py', cfg, checkpoint, video],
                    cwd=str(root),
                    check=False)
    assert proc.returncode == 1, proc.stdout
    assert (f'{video}: the test pipeline (test_dataloader.dataset.pipeline: '
            "['SampleFrames', 'RawFrameDecode', 'Resize', 'FormatShape', "
            "'PackActionInputs']) opens no video file (RawFrameDecode reads "
            'extracted frames): a video file is classified with a pipeline '
            'that starts with DecordInit') in ' '.join(proc.stdout.split())
    # A list without labels (SSv2's test set; mmaction2 reads -1) is tested
    # for its predictions, with a warning; training on it is refused.
    (root / 'unlabelled.txt').write_text('vid_0 12\nvid_1 12\n')
    option = f'test_dataloader.dataset.ann_file={root}/unlabelled.txt'
    dump = root / 'predictions.pkl'
    out = run_tool([
        'test.py', cfg, checkpoint, '--work-dir', work, '--dump', dump,
        '--cfg-options', option
    ],
                   cwd=str(root)).stdout
    assert ('test_dataloader.dataset (RawframeDataset) has no labels (every '
            'line lacks one; mmaction2 reads -1): its metrics mean nothing, '
            'only the predictions (--dump) do.') in ' '.join(out.split())
    assert dump.is_file()
    proc = run_tool([
        'train.py', cfg, '--work-dir',
        str(root / 'w2'), '--cfg-options',
        f'train_dataloader.dataset.ann_file={root}/unlabelled.txt'
    ],
                    cwd=str(root),
                    check=False)
    assert proc.returncode == 1
    assert '(mmaction2 gives a line without a label the label -1: each ' \
        'line needs its label)' in ' '.join(proc.stdout.split())


def test_a_missing_frame_folder_is_refused_before_the_work_dir(rawframes):
    root, cfg = rawframes
    (root / 'bad.txt').write_text('vid_0 12 0\nvid_7 12 1\n')
    work = str(root / 'work')
    proc = run_tool([
        'train.py', cfg, '--work-dir', work, '--cfg-options',
        f'train_dataloader.dataset.ann_file={root}/bad.txt'
    ],
                    cwd=str(root),
                    check=False)
    assert proc.returncode != 0
    assert (
        f"line 2 of {root}/bad.txt, 'vid_7 12 1', names the frame "
        f'folder {root}/rawframes/vid_7, which does not exist') in proc.stdout
    assert 'Traceback' not in proc.stdout
    assert not os.path.exists(work)
