# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``TestTimeAug`` step in a pipeline that feeds the model itself is
refused by tools/test.py and tools/train.py before the Runner is built,
on one line naming the config, the key and index and what to do.

``TestTimeAug`` gives each input several augmented copies, which only the
test-time augmentation wrapper (``tta_model``) that ``tools/test.py --tta``
wraps the model in merges. Before, ``tools/test.py`` without ``--tta``
(image and video configs), ``--tta`` on an image config without
``tta_pipeline`` (whose default one wraps the test pipeline's last step in
another ``TestTimeAug``) and ``tools/train.py`` with one in the validation
pipeline (after a whole epoch) made the work dir and then failed at the
first batch deep in the model with a traceback (``RuntimeError: Expected
3D (unbatched) or 4D (batched) input to conv2d``, mmaction2's
``AttributeError: 'tuple' object has no attribute 'ndim'``). Real runs on
real files, in fresh processes."""
import re

import pytest
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, image_data_cfg,
                     run_tool, save_as_built_checkpoint, video_data_cfg,
                     write_config)
from refusal_lines import refused_line

#: MMPretrain's flip TTA pipeline, as the image test pipeline.
_IMAGE_TTA = '''
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
        [dict(type='PackInputs')]]),
]
test_dataloader['dataset']['pipeline'] = tta_pipeline
'''

_TEST_ADVICE = (
    'tools/test.py without --tta runs the model itself, which takes one copy '
    'per input. Add --tta (with tta_pipeline in the config, which then '
    'replaces test_dataloader.dataset.pipeline; video configs need '
    'tta_model too), or give test_dataloader.dataset.pipeline without '
    'TestTimeAug.')


def _is_test_time_aug(config, key):
    return (f'ConfigError: {config}: {key} is TestTimeAug, which gives each '
            'input several augmented copies for a test-time augmentation '
            "model to merge (the config's tta_model, which tools/test.py "
            '--tta wraps the model in, with tta_pipeline as its test '
            'pipeline); ')


@pytest.fixture(scope='module')
def image_tta(tmp_path_factory, tiny_image_data):
    root = tmp_path_factory.mktemp('test_time_aug_tools')
    cfg = write_config(root / 'tta.py', TINY_IMAGE_CONFIG,
                       image_data_cfg(tiny_image_data) + _IMAGE_TTA)
    ckpt = save_as_built_checkpoint(TINY_IMAGE_CONFIG, root / 'model.pth')
    return root, cfg, ckpt, tiny_image_data


def test_test_without_tta_is_refused_and_with_tta_runs(image_tta):
    """tools/test.py without --tta on an image test pipeline holding
    TestTimeAug: refused before the work dir (before, a conv2d traceback
    after it); the same config with --tta tests with tta_model."""
    root, cfg, ckpt, _ = image_tta
    work_dir = root / 'plain_work'
    proc = run_tool(['test.py', cfg, ckpt, '--work-dir', work_dir],
                    cwd=root,
                    check=False)
    line = refused_line(
        proc, absent=['Epoch(test)', 'Expected 3D'], no_dir=work_dir)
    assert line == _is_test_time_aug(
        cfg, 'test_dataloader.dataset.pipeline[1]') + _TEST_ADVICE, line

    proc = run_tool(
        ['test.py', cfg, ckpt, '--work-dir', root / 'tta_work', '--tta'],
        cwd=root)
    assert re.search(r'Epoch\(test\) .*accuracy/top1: ', proc.stdout)


def test_default_tta_pipeline_is_not_wrapped_around_test_time_aug(image_tta):
    """--tta on an image config without tta_pipeline, whose test pipeline
    holds TestTimeAug: the default tta_pipeline wrapped its last step in a
    TestTimeAug of flips, and the test failed at the first batch with a
    conv2d traceback, after the work dir."""
    root, _, ckpt, data = image_tta
    body = image_data_cfg(data) + _IMAGE_TTA.replace('tta_pipeline',
                                                     'test_time_aug')
    nested = write_config(root / 'nested.py', TINY_IMAGE_CONFIG, body)
    work_dir = root / 'nested_work'
    proc = run_tool(['test.py', nested, ckpt, '--work-dir', work_dir, '--tta'],
                    cwd=root,
                    check=False)
    line = refused_line(
        proc, absent=['Epoch(test)', 'Expected 3D'], no_dir=work_dir)
    key = 'test_dataloader.dataset.pipeline'
    assert line == (
        f'ConfigError: {nested}: {key}[1] is TestTimeAug, and --tta on a '
        'config without tta_pipeline makes it from the test pipeline, its '
        'last step wrapped in a TestTimeAug of horizontal flips, which would '
        'give the model several copies of each copy. Set tta_pipeline in the '
        'config (--tta tests with it instead, e.g. with this pipeline), or '
        f'give {key} without TestTimeAug.'), line


def test_video_test_without_tta_is_refused(tmp_path, tiny_video_data):
    """A video test pipeline holding TestTimeAug, without --tta: before,
    mmaction2's data preprocessor failed at the first batch (``'tuple'
    object has no attribute 'ndim'``), after the work dir."""
    body = video_data_cfg(tiny_video_data) + '''
test_dataloader['dataset']['pipeline'] = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=4, frame_interval=3, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Flip', flip_ratio=1.), dict(type='Flip', flip_ratio=0.)],
        [dict(type='FormatShape', input_format='NCTHW')],
        [dict(type='PackActionInputs')]]),
]
'''
    cfg = write_config(tmp_path / 'vtta.py', TINY_VIDEO_CONFIG, body)
    ckpt = save_as_built_checkpoint(TINY_VIDEO_CONFIG, tmp_path / 'v.pth')
    work_dir = tmp_path / 'work'
    proc = run_tool(['test.py', cfg, ckpt, '--work-dir', work_dir],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, absent=['Epoch(test)'], no_dir=work_dir)
    assert line == _is_test_time_aug(
        cfg, 'test_dataloader.dataset.pipeline[4]') + _TEST_ADVICE, line


def test_train_refuses_test_time_aug_in_the_val_pipeline(image_tta):
    """tools/train.py with TestTimeAug in the validation pipeline: before,
    it trained a whole epoch and then failed at the first validation batch
    with a conv2d traceback, after the work dir."""
    root, _, _, data = image_tta
    body = image_data_cfg(data) + _IMAGE_TTA.replace(
        "test_dataloader['dataset']", "val_dataloader['dataset']")
    cfg = write_config(root / 'val_tta.py', TINY_IMAGE_CONFIG, body)
    work_dir = root / 'train_work'
    proc = run_tool([
        'train.py', cfg, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_epochs=1'
    ],
                    cwd=root,
                    check=False)
    line = refused_line(
        proc, absent=['Epoch(train)', 'Expected 3D'], no_dir=work_dir)
    assert line == _is_test_time_aug(
        cfg, 'val_dataloader.dataset.pipeline[1]') + (
            'tools/train.py runs the model itself, which takes one copy per '
            'input. Give val_dataloader.dataset.pipeline without TestTimeAug '
            '(tools/test.py --tta tests with tta_pipeline).'), line


def test_a_model_that_merges_the_copies_is_not_refused(image_tta):
    """Guards the check's one exception: a config whose model is itself a
    test-time augmentation model (mmpretrain's ``AverageClsScoreTTA``
    around the classifier, as ``--tta`` wraps it) merges TestTimeAug's
    copies, and tools/test.py tests it without --tta."""
    root, _, ckpt, data = image_tta
    body = image_data_cfg(data) + _IMAGE_TTA + '''
model = dict(
    _delete_=True, type='AverageClsScoreTTA', module={{_base_.model}})
'''
    cfg = write_config(root / 'tta_model.py', TINY_IMAGE_CONFIG, body)
    proc = run_tool(
        ['test.py', cfg, ckpt, '--work-dir', root / 'tta_model_work'],
        cwd=root)
    assert re.search(r'Epoch\(test\) .*accuracy/top1: ', proc.stdout)
