# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``configs/tiny/tiny_adaptformer_rawframes.py`` trains and tests, as it
is, on tiny real JPEG frames through ``tools/train.py`` and
``tools/test.py``, so that the config cannot rot."""
import os
import os.path as osp

import cv2
import numpy as np
from helpers import CONFIGS, run_tool, save_stock_video_checkpoint

CONFIG = osp.join(CONFIGS, 'tiny', 'tiny_adaptformer_rawframes.py')


def _write_frames(root: str,
                  num_per_class: int = 2,
                  num_frames: int = 16) -> None:
    """``root/data/tiny_rawframes`` (the config's ``data_root``): a square
    that moves right (class 0) or left (class 1), as JPEG frames
    ``rawframes/<split>_<label>_<i>/img_00001.jpg`` on, and ``train.txt``
    and ``val.txt`` (lines ``<frame_dir> <total_frames> <label>``)."""
    data = osp.join(root, 'data', 'tiny_rawframes')
    for split in ('train', 'val'):
        lines = []
        for label in (0, 1):
            for index in range(num_per_class):
                name = f'{split}_{label}_{index}'
                folder = osp.join(data, 'rawframes', name)
                os.makedirs(folder)
                for frame in range(num_frames):
                    image = np.zeros((32, 32, 3), np.uint8)
                    x = 2 + frame if label == 0 else 26 - frame
                    image[12 + index:20 + index, x:x + 4] = 255
                    path = osp.join(folder, f'img_{frame + 1:05}.jpg')
                    assert cv2.imwrite(path, image), path
                lines.append(f'{name} {num_frames} {label}\n')
        with open(osp.join(data, f'{split}.txt'), 'w') as f:
            f.writelines(lines)


def test_tiny_rawframes_config_trains_and_tests_on_jpeg_frames(tmp_path):
    _write_frames(str(tmp_path))
    pretrained = str(tmp_path / 'tiny_vit.pth')
    save_stock_video_checkpoint(pretrained)
    run_tool([
        'train.py', CONFIG, '--work-dir', 'work', '--pretrained', pretrained,
        '--cfg-options', 'train_cfg.max_epochs=1'
    ],
             cwd=tmp_path)
    checkpoint = tmp_path / 'work' / 'epoch_1.pth'
    assert checkpoint.is_file()
    log = open(next((tmp_path / 'work').glob('*/*.log'))).read()
    # 4 clips a batch, 4 training lists' lines: one iteration, then the
    # validation of the 4 val lines.
    assert 'Epoch(train) [1][1/1]' in log, log[-3000:]
    assert 'Epoch(val) [1][1/1]' in log, log[-3000:]
    proc = run_tool([
        'test.py', CONFIG,
        str(checkpoint), '--work-dir', 'test', '--pretrained', pretrained
    ],
                    cwd=tmp_path)
    # Every one of the 4 val lines, one a batch.
    assert 'Epoch(test) [4/4]' in proc.stdout, proc.stdout[-3000:]
    assert 'acc/top1' in proc.stdout, proc.stdout[-3000:]
