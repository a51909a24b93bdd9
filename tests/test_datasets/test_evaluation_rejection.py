# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A sample the evaluation pipeline drops (a transform returns None) is
refused naming the pipeline that runs: in a Runner's validation loop that
is the val pipeline, which the refusal called "the test pipeline"."""
import os.path as osp

import pytest
from broken_images import stripes_with_broken_images
from broken_videos import video_path, write_list
from mmaction.registry import TRANSFORMS as MMACTION_TRANSFORMS
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope
from mmpretrain.registry import TRANSFORMS as MMPRETRAIN_TRANSFORMS

from mmadaptformer.datasets import (BrokenImageError, BrokenVideoError,
                                    CheckedImageDataset, CheckedVideoDataset)


class DropEverySampleR1:
    """A transform that drops each sample, as a filtering one may."""

    def __call__(self, results):
        return None


MMACTION_TRANSFORMS.register_module(module=DropEverySampleR1, force=True)
MMPRETRAIN_TRANSFORMS.register_module(module=DropEverySampleR1, force=True)
PIPELINE = [dict(type='DropEverySampleR1')]


@pytest.fixture(params=['val', 'test', None])
def stage(request):
    """The loop stage MMEngine's RuntimeInfoHook records (None: no loop);
    the stage the refusal names."""
    hub = MessageHub.get_current_instance()
    before = hub.get_info('loop_stage')
    if request.param is None:
        hub.pop_info('loop_stage', None)
    else:
        hub.update_info('loop_stage', request.param)
    yield request.param or 'test'
    if before is None:
        hub.pop_info('loop_stage', None)
    else:
        hub.update_info('loop_stage', before)


def test_a_dropped_video_names_the_loops_pipeline(tmp_path, video_files,
                                                  stage):
    ann = write_list(tmp_path / 'val.txt', [f'{video_files["good"][0]} 0'])
    dataset = CheckedVideoDataset(
        ann_file=ann,
        data_prefix=dict(video=video_files['videos']),
        pipeline=PIPELINE,
        test_mode=True)
    path = video_path(video_files, video_files['good'][0])
    with pytest.raises(BrokenVideoError) as info:
        dataset[0]
    assert str(info.value).startswith(
        f'The {stage} pipeline rejected {path} ({ann}:1)'), str(info.value)


def test_a_dropped_image_names_the_loops_pipeline(tmp_path, stage):
    root = str(tmp_path)
    stripes_with_broken_images(root)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = CheckedImageDataset(
            data_root=root,
            data_prefix='val',
            pipeline=PIPELINE,
            test_mode=True)
    with pytest.raises(BrokenImageError) as info:
        dataset[0]
    path = dataset.get_data_info(0)['img_path']
    assert str(info.value) == f'The {stage} pipeline rejected {path}', \
        str(info.value)
    assert osp.isfile(path)
