# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The tools end on one line, exit status 1, when an evaluation set is
refused for its broken files: an evaluation dataset that would swap them
for other samples (``DataHealthHook``), and a broken image in one that
does not (``CheckedImageDataset`` with ``test_mode=True``). Both ended
with a traceback, unlike the other config and data refusals."""
from broken_images import stripes_with_broken_images
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, image_data_cfg,
                     run_tool, save_as_built_checkpoint, video_data_cfg,
                     write_config)
from refusal_lines import refused_line


def test_lenient_validation_set_is_one_line(tmp_path, tiny_video_data):
    """tools/train.py with a validation ``CheckedVideoDataset`` at
    ``test_mode=False``: the refusal names the key and the option to set,
    on one line (before: a ``ValueError`` traceback through the Runner)."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'work', '--cfg-options',
        'val_dataloader.dataset.test_mode=False'
    ],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, absent=['Epoch(train)'])
    assert line.startswith(
        'ConfigError: DataHealthHook: val_dataloader.dataset is a '
        'CheckedVideoDataset with test_mode=False'), line
    assert 'Set val_dataloader.dataset.test_mode=True' in line, line


def test_broken_evaluation_image_is_one_line(tmp_path):
    """tools/test.py on a ``CheckedImageDataset`` (test_mode=True) with a
    truncated PNG: ``BrokenImageError`` names the file on one line, as
    ``BrokenVideoError`` does for a video (before: a traceback)."""
    broken = stripes_with_broken_images(str(tmp_path / 'data'))['val']
    root = str(tmp_path / 'data')
    body = image_data_cfg(root) + (
        "test_dataloader = dict(dataset=dict(type='CheckedImageDataset', "
        f'data_root={root!r}, test_mode=True))\n'
        "default_hooks = dict(data_health=dict(type='DataHealthHook'))\n")
    config = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG, body)
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'model.pth')
    proc = run_tool(
        ['test.py', config, checkpoint, '--work-dir', tmp_path / 'work'],
        cwd=tmp_path,
        check=False)
    line = refused_line(proc, absent=['accuracy/top1'])
    assert line.startswith('BrokenImageError: Cannot load '), line
    assert 'for evaluation: ' in line, line
    assert any(path in line for path in broken.values()), line
