# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A transform that fails after the read, in a Runner's test or validation
loop, is named with its pipeline's config key, as tools/infer.py names it.

tools/test.py said ``the test pipeline's ThreeCrop (pipeline[4])``, and
tools/train.py's validation said "the test pipeline" of the val pipeline."""
from helpers import (TINY_VIDEO_CONFIG, run_tool, save_stock_video_checkpoint,
                     video_data_cfg, write_config)
from refusal_lines import refused_line

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
                 check=False))
    assert line.startswith('PipelineStepError: Cannot evaluate '), line
    assert ("after it was read, the test pipeline's ThreeCrop "
            '(test_dataloader.dataset.pipeline[4]) failed: AssertionError: '
            'raised at mmaction/') in line, line
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
                 check=False))
    assert line.startswith('PipelineStepError: Cannot evaluate '), line
    assert ("after it was read, the val pipeline's ThreeCrop "
            '(val_dataloader.dataset.pipeline[4]) failed: ') in line, line
    assert 'test pipeline' not in line
