# Copyright (c) mmadaptformer contributors. All rights reserved.
"""mmaction2's ``init_recognizer`` then mmpretrain's
``ImageClassificationInferencer`` in one process: the upstream failure and
the workaround the README ("Use a trained model") gives.

This guards what the README says (checked by hand against these runs when
the sentence was written): ``init_recognizer`` leaves MMEngine's default
scope at ``mmaction``, so the Inferencer's pipeline fails with
``KeyError: 'PackInputs is not in the mmaction::transform registry'``;
built inside ``DefaultScope.overwrite_default_scope('mmpretrain')`` (or
after ``init_default_scope('mmpretrain')``) it builds and classifies, and
the recognizer still classifies a video after it.
"""
import os.path as osp

import pytest
from checkpoint_makers import (save_stock_image_checkpoint,
                               save_stock_video_checkpoint)
from repo_paths import REPO_ROOT, TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG
from tool_runners import run_fresh_python

CODE = '''
import sys
import numpy as np
import mmadaptformer  # noqa: F401
from mmaction.apis import inference_recognizer, init_recognizer
from mmengine.registry import DefaultScope, init_default_scope
from mmpretrain import ImageClassificationInferencer
from mmadaptformer.testing import write_video

video_cfg, video_ckpt, image_cfg, image_ckpt, how, clip = sys.argv[1:]
recognizer = init_recognizer(video_cfg, video_ckpt, device='cpu')


def build():
    return ImageClassificationInferencer(
        image_cfg, pretrained=image_ckpt, device='cpu')


if how == 'plain':
    try:
        build()
    except KeyError as e:
        print('KeyError', e)
    sys.exit(0)
if how == 'with':
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        inferencer = build()
else:
    init_default_scope('mmpretrain')
    inferencer = build()
image = np.zeros((32, 32, 3), np.uint8)
print('image label', int(inferencer(image)[0]['pred_label']))
write_video(clip, np.random.default_rng(0).integers(
    0, 256, (16, 32, 32, 3), dtype=np.uint8))
print('video label', int(inference_recognizer(recognizer, clip).pred_label))
'''


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp('two_toolboxes')
    video, image = str(root / 'video.pth'), str(root / 'image.pth')
    save_stock_video_checkpoint(video)
    save_stock_image_checkpoint(image)
    return dict(video=video, image=image)


def _run(checkpoints, how, tmp_path):
    proc = run_fresh_python(CODE, TINY_VIDEO_CONFIG, checkpoints['video'],
                            TINY_IMAGE_CONFIG, checkpoints['image'], how,
                            str(tmp_path / 'clip.mp4'))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_the_inferencer_after_init_recognizer_fails_upstream(
        checkpoints, tmp_path):
    out = _run(checkpoints, 'plain', tmp_path)
    assert "KeyError 'PackInputs is not in the mmaction::transform " \
        'registry' in out, out


@pytest.mark.parametrize('how', ['with', 'init'])
def test_the_readme_workaround_builds_and_classifies(checkpoints, how,
                                                     tmp_path):
    out = _run(checkpoints, how, tmp_path)
    assert 'image label ' in out and 'video label ' in out, out


def test_the_readme_gives_the_workaround():
    with open(osp.join(REPO_ROOT, 'README.md'), encoding='utf-8') as f:
        text = ' '.join(f.read().split())
    assert "KeyError: 'PackInputs is not in the mmaction::transform " \
        "registry'" in text
    assert "with DefaultScope.overwrite_default_scope('mmpretrain'):" in text
    assert "init_default_scope('mmpretrain')" in text
