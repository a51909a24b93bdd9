# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The multi-task forward on the MMAction2 hosts beyond VideoMAE: it serves
those whose blocks hold the samples along dim 0 and refuses the others."""

import pytest
from adapter_tasks import val_videos
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, save_as_built_checkpoint,
                     video_data_cfg, write_config)
from task_engines import assert_task_scores

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, TaskError

# Each host: its AdaptFormer backbone (tiny) and a head for it (averaging
# the views, as inference needs: these heads' default keeps one row each).
HOSTS = dict(
    timesformer=("dict(type='TimeSformer', num_frames=4, img_size=32, "
                 'patch_size=16, embed_dims=32, num_heads=2, '
                 'num_transformer_layers=2)',
                 "dict(type='TimeSformerHead', num_classes=2, "
                 "in_channels=32, average_clips='prob')"),
    mvit=("dict(type='MViT', arch=dict(embed_dims=16, num_layers=3, "
          'num_heads=1, downscale_indices=[1]), spatial_size=32, '
          'temporal_size=4)',
          "dict(type='MViTHead', num_classes=2, in_channels=32, "
          "average_clips='prob')"),
    uniformerv2=("dict(type='UniFormerV2', input_resolution=32, "
                 'patch_size=16, width=32, layers=2, heads=2, t_size=4, '
                 'return_list=[0, 1], n_layers=2, n_dim=32, n_head=2, '
                 'mlp_dropout=[0.5, 0.5], clip_pretrained=False)',
                 "dict(type='UniFormerHead', num_classes=2, "
                 "in_channels=32, average_clips='prob')"),
)


def _config(path, data, host):
    backbone, head = HOSTS[host]
    return write_config(
        path, TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(data) +
        'model = dict(backbone=dict(_delete_=True, type=\'AdaptFormer\', '
        f'adapter=dict(bottleneck=8), backbone={backbone}), '
        f'cls_head=dict(_delete_=True, **{head}))\n')


def test_sequence_first_uniformerv2_is_refused(tmp_path, tiny_video_data,
                                               clean_loggers):
    """UniFormerV2's CLIP blocks take (1 + HW, N * T, C): task streams laid
    out along dim 0 would cut tokens, not samples. Refused, naming the task
    and the block, before the (empty) engine changes."""
    config = _config(tmp_path / 'uv2.py', tiny_video_data, 'uniformerv2')
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'uv2.pth')
    engine = MultiTaskRecognizer()
    with pytest.raises(
            TaskError,
            match=r"Task 'uv2' \(.*uv2\.py\): its blocks "
            r'ResidualAttentionBlock \(mmaction\.models\.backbones\.'
            r'uniformerv2\.ResidualAttentionBlock, in UniFormerV2\) are not '
            'batch-first'):
        engine.add_task('uv2', config, checkpoint)
    assert engine.tasks == []
    assert engine.blocks == []


@pytest.mark.parametrize('host', ['timesformer'])
def test_batch_first_hosts_answer_as_each_task_alone(host, tmp_path,
                                                     tiny_video_data,
                                                     clean_loggers):
    """TimeSformer (adapters in each layer's FFNWithNorm, the samples
    folded sample-major in attention; MViT passes too, at twice the cost):
    two tasks with their own adapters and heads on one backbone equal each
    model alone."""
    from adapter_tasks import random_task_checkpoints
    config = _config(tmp_path / f'{host}.py', tiny_video_data, host)
    checkpoints = random_task_checkpoints(config, 'mmaction', tmp_path)
    engine = MultiTaskRecognizer()
    engine.add_task('a', config, checkpoints[0])
    engine.add_task('b', config, checkpoints[1])
    assert engine.streams.split_at == dict(a=0, b=0)
    videos = val_videos(tiny_video_data)[:2]
    results = engine(videos, batch_size=2)
    for name, path in zip('ab', checkpoints):
        assert_task_scores(results,
                           ModelInferencer(config, path, name=name)(videos),
                           name, videos)
    assert results[videos[0]]['a']['scores'] != \
        results[videos[0]]['b']['scores']
