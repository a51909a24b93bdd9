# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A transform that fails after the read is named with its pipeline's
config key, as tools/infer.py names it.

tools/test.py said ``the test pipeline's ThreeCrop (pipeline[4])``, and
tools/train.py's validation said "the test pipeline" of the val pipeline.
A transform that fails on every video is now refused before the work dir
(:mod:`mmadaptformer.utils.first_samples`); one that fails on some videos
only is still named in the Runner's test or validation loop."""
import os.path as osp
import shutil

from helpers import (TINY_VIDEO_CONFIG, run_tool, save_stock_video_checkpoint,
                     video_data_cfg, write_config)
from refusal_lines import refused_line

from mmadaptformer.testing import make_moving_square_dataset

#: The tiny test pipeline with one clip, its Resize too large for its
#: ThreeCrop: ThreeCrop, the fifth transform, fails on every video.
_BAD_PIPELINE = (
    "[dict(type='DecordInit'), dict(type='SampleFrames', clip_len=4, "
    'frame_interval=3, num_clips=1, test_mode=True), '
    "dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 64)), "
    "dict(type='ThreeCrop', crop_size=32), dict(type='FormatShape', "
    "input_format='NCTHW'), dict(type='PackActionInputs')]")


def test_test_pipeline_is_named_by_its_key(tmp_path, tiny_video_data):
    """tools/test.py with a Resize its ThreeCrop no longer fits said
    'BrokenVideoError: Cannot load VIDEO ... Replace the file'; the video
    was read, and the transform that failed is named instead, by its key.

    The tiny video recognizer (random weights), its test Resize
    (``pipeline.3``, set by ``--cfg-options``) too large for its ThreeCrop
    (``pipeline[4]``): every video is read, then the crop fails."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    checkpoint = tmp_path / 'random.pth'
    save_stock_video_checkpoint(checkpoint)
    line = refused_line(
        run_tool([
            'test.py', config, checkpoint, '--work-dir', tmp_path / 'w',
            '--cfg-options', 'test_dataloader.dataset.pipeline.3.scale=(-1,64)'
        ],
                 cwd=tmp_path,
                 check=False),
        no_dir=tmp_path / 'w')
    videos = tiny_video_data['videos']
    assert line == (
        f'ConfigError: {config}: test_dataloader.dataset.pipeline[4]: '
        'ThreeCrop failed on each of the 2 samples of test_dataloader it '
        f'was tried on ({videos}/val_0_0.mp4, {videos}/val_1_3.mp4) after '
        'the file was read: AssertionError: raised at '
        'mmaction/datasets/transforms/processing.py:1168: assert crop_h == '
        "img_h or crop_w == img_w. Check that transform's settings and "
        'those of the ones before it.'), line
    assert 'Replace the file' not in line


def test_val_pipeline_is_named_by_its_key(tmp_path, tiny_video_data):
    config = write_config(
        tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        f"val_dataloader['dataset']['pipeline'] = {_BAD_PIPELINE}\n")
    line = refused_line(
        run_tool([
            'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
            'train_cfg.max_epochs=1'
        ],
                 cwd=tmp_path,
                 check=False),
        no_dir=tmp_path / 'w')
    assert line.startswith(
        f'ConfigError: {config}: val_dataloader.dataset.pipeline[4]: '
        'ThreeCrop failed on each of the 2 samples of val_dataloader '), line


#: A test pipeline without Resize: its ThreeCrop fits the 32-pixel videos
#: and fails on the 64-pixel ones.
_CROP_ONLY = (
    "[dict(type='DecordInit'), dict(type='SampleFrames', clip_len=4, "
    'frame_interval=3, num_clips=1, test_mode=True), '
    "dict(type='DecordDecode'), dict(type='ThreeCrop', crop_size=32), "
    "dict(type='FormatShape', input_format='NCTHW'), "
    "dict(type='PackActionInputs')]")


def _mixed_sizes(tmp_path, tiny_video_data) -> dict:
    """A list whose first video (32 pixels) the crop fits and whose others
    (64 pixels) it does not: the check before the work dir passes it."""
    data = make_moving_square_dataset(
        str(tmp_path / 'mixed'), num_per_class=1, size=64, splits=('val', ))
    shutil.copy(
        osp.join(tiny_video_data['videos'], 'val_0_0.mp4'),
        osp.join(data['videos'], 'small.mp4'))
    with open(data['val']) as f:
        lines = f.read()
    with open(data['val'], 'w') as f:
        f.write('small.mp4 0\n' + lines)
    return dict(train=data['val'], val=data['val'], videos=data['videos'])


def test_a_test_failure_on_some_videos_is_named_in_the_loop(
        tmp_path, tiny_video_data):
    config = write_config(
        tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
        video_data_cfg(_mixed_sizes(tmp_path, tiny_video_data)) +
        f"test_dataloader['dataset']['pipeline'] = {_CROP_ONLY}\n")
    checkpoint = tmp_path / 'random.pth'
    save_stock_video_checkpoint(checkpoint)
    line = refused_line(
        run_tool(['test.py', config, checkpoint, '--work-dir', tmp_path / 'w'],
                 cwd=tmp_path,
                 check=False))
    assert line.startswith('PipelineStepError: Cannot evaluate '), line
    assert ("after it was read, the test pipeline's ThreeCrop "
            '(test_dataloader.dataset.pipeline[3]) failed: AssertionError: '
            'raised at mmaction/') in line, line
    assert 'small.mp4' not in line and 'Replace the file' not in line


def test_a_val_failure_on_some_videos_is_named_in_the_loop(
        tmp_path, tiny_video_data):
    config = write_config(
        tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
        video_data_cfg(_mixed_sizes(tmp_path, tiny_video_data)) +
        f"val_dataloader['dataset']['pipeline'] = {_CROP_ONLY}\n")
    line = refused_line(
        run_tool([
            'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
            'train_cfg.max_epochs=1'
        ],
                 cwd=tmp_path,
                 check=False))
    assert line.startswith('PipelineStepError: Cannot evaluate '), line
    assert ("after it was read, the val pipeline's ThreeCrop "
            '(val_dataloader.dataset.pipeline[3]) failed: ') in line, line
    assert 'test pipeline' not in line
