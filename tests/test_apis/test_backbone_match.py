# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tasks whose configs build the same host backbone share it, whether a
config writes an argument's default out or leaves it to the class; tasks
whose hosts differ are refused with the keys that differ."""
import os.path as osp

import pytest
from adapter_tasks import random_task_checkpoints
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, write_config
from mmengine.config import Config

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, TaskError
from mmadaptformer.apis.backbone_match import backbone_signature

#: What the recipes write out (configs/_base_/models/videomae_vit-b_8x224.py)
#: and the tiny config leaves to mmaction2's VisionTransformer: its defaults.
EXPLICIT_DEFAULTS = ('model = dict(backbone=dict(backbone=dict('
                     'drop_path_rate=0., use_mean_pooling=True)))\n')


def test_a_default_written_out_gives_the_same_signature(tmp_path):
    plain = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    explicit = Config.fromfile(
        write_config(tmp_path / 'explicit.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                     EXPLICIT_DEFAULTS))
    assert backbone_signature(plain) != backbone_signature(explicit)
    assert backbone_signature(plain, 'mmaction') == backbone_signature(
        explicit, 'mmaction')
    other = Config.fromfile(
        write_config(
            tmp_path / 'other.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
            'model = dict(backbone=dict(backbone=dict(drop_path_rate=0.1)))\n')
    )
    assert backbone_signature(plain, 'mmaction') != backbone_signature(
        other, 'mmaction')


def test_two_tasks_share_the_backbone_and_keep_their_own_answers(
        tmp_path, tiny_video_data):
    """Before, the second task was refused (``has another model``) though
    both configs build the same backbone."""
    checkpoints = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG,
                                          'mmaction', tmp_path)
    explicit = write_config(tmp_path / 'explicit.py',
                            TINY_ADAPTFORMER_VIDEO_CONFIG, EXPLICIT_DEFAULTS)
    videos = [
        osp.join(tiny_video_data['videos'], name)
        for name in ('val_0_0.mp4', 'val_1_0.mp4')
    ]
    engine = MultiTaskRecognizer(device='cpu')
    engine.add_task('a', TINY_ADAPTFORMER_VIDEO_CONFIG, checkpoints[0])
    engine.add_task('b', explicit, checkpoints[1])
    results = engine(videos)
    for task, config, checkpoint in (('a', TINY_ADAPTFORMER_VIDEO_CONFIG,
                                      checkpoints[0]), ('b', explicit,
                                                        checkpoints[1])):
        alone = ModelInferencer(config, checkpoint, name=task)(videos)
        for video in videos:
            assert results[video][task]['scores'] == pytest.approx(
                alone[video][task]['scores'], abs=1e-6)
    assert results[videos[0]]['a']['scores'] != pytest.approx(
        results[videos[0]]['b']['scores'], abs=1e-3)


def test_another_backbone_is_refused_with_the_keys_that_differ(tmp_path):
    checkpoints = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG,
                                          'mmaction', tmp_path, (1, ))
    other = write_config(
        tmp_path / 'other.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        'model = dict(backbone=dict(backbone=dict(drop_path_rate=0.1)))\n')
    engine = MultiTaskRecognizer(device='cpu')
    engine.add_task('a', TINY_ADAPTFORMER_VIDEO_CONFIG, checkpoints[0])
    with pytest.raises(TaskError) as error:
        engine.add_task('b', other, checkpoints[0])
    assert (f"Task 'b' ({other}) has another model than task 'a' "
            f'({TINY_ADAPTFORMER_VIDEO_CONFIG}): backbone.drop_path_rate: '
            '0.1 vs 0.0 (this task vs the first).') in str(error.value)
