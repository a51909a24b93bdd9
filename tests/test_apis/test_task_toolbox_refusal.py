# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A task of the other toolbox is refused in words that read right: "is
an mmpretrain config" (it said "is a mmpretrain config")."""
import pytest
from adapter_tasks import random_task_checkpoints
from repo_paths import (TINY_ADAPTFORMER_IMAGE_CONFIG,
                        TINY_ADAPTFORMER_VIDEO_CONFIG)

from mmadaptformer.apis import MultiTaskRecognizer, TaskError


def test_an_image_task_beside_a_video_task_is_refused_by_name(tmp_path):
    video, = random_task_checkpoints(
        TINY_ADAPTFORMER_VIDEO_CONFIG, 'mmaction', tmp_path, seeds=(1, ))
    image, = random_task_checkpoints(
        TINY_ADAPTFORMER_IMAGE_CONFIG, 'mmpretrain', tmp_path, seeds=(2, ))
    engine = MultiTaskRecognizer(device='cpu')
    engine.add_task('clips', TINY_ADAPTFORMER_VIDEO_CONFIG, video)
    with pytest.raises(TaskError) as error:
        engine.add_task('stills', TINY_ADAPTFORMER_IMAGE_CONFIG, image)
    assert str(error.value) == (
        f"Task 'stills' ({TINY_ADAPTFORMER_IMAGE_CONFIG}) is an mmpretrain "
        "config, but task 'clips' is an mmaction one; one backbone serves "
        'one toolbox.')
    assert engine.tasks == ['clips']
