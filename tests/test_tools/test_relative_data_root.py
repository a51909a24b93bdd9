# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A relative data path that does not exist is named with the directory
it was read from: a run from another directory than the repository's
said only ``the annotation file data/tiny_video/val.txt does not exist``,
which reads as if the config's folder had been searched."""
import os.path as osp

from helpers import TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, run_tool

FROM_CWD = ('a relative path, read from the working directory {}, not from '
            "the config's folder")


def test_test_tool_names_the_working_directory(tmp_path):
    checkpoint = tmp_path / 'epoch_1.pth'
    checkpoint.write_bytes(b'')
    proc = run_tool(
        ['test.py', TINY_VIDEO_CONFIG, checkpoint, '--work-dir', 'w'],
        cwd=tmp_path,
        check=False)
    assert proc.returncode == 1, proc.stdout
    assert proc.stdout.rstrip().endswith(
        f'{TINY_VIDEO_CONFIG}: test_dataloader.dataset.ann_file '
        '(CheckedVideoDataset): the annotation file data/tiny_video/val.txt '
        f'does not exist ({FROM_CWD.format(osp.realpath(tmp_path))}).'
    ), proc.stdout
    assert not (tmp_path / 'w').exists()


def test_train_tool_names_it_for_an_image_folder(tmp_path):
    proc = run_tool(['train.py', TINY_IMAGE_CONFIG, '--work-dir', 'w'],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout
    assert proc.stdout.rstrip().endswith(
        'the image folder data/tiny_image/train does not exist (without an '
        'ann_file, CustomDataset lists the class folders in it; '
        f'{FROM_CWD.format(osp.realpath(tmp_path))}).'), proc.stdout


def test_an_absolute_path_says_nothing_more(tmp_path):
    """Guard of kept behaviour: an absolute path needs no directory."""
    proc = run_tool([
        'train.py', TINY_VIDEO_CONFIG, '--work-dir', 'w', '--cfg-options',
        f'train_dataloader.dataset.ann_file={tmp_path}/train.txt'
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.stdout.rstrip().endswith(
        f'the annotation file {tmp_path}/train.txt does not exist.'
    ), proc.stdout
