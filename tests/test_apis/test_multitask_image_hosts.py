# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The multi-task forward on TNT, LeViT, RevViT, Conformer and MobileViT:
it serves LeViT and RevViT (its reversible pair laid out per task in both
halves) and refuses the hosts that carry per-sample state beside their
blocks (``HostSpec.side_stream``)."""

import pytest
import torch
from helpers import (TINY_IMAGE_CONFIG, image_data_cfg,
                     save_as_built_checkpoint, write_config)
from stripes_task import stripes_images
from task_engines import assert_task_scores
from torch import nn

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, TaskError
from mmadaptformer.models.hosts import HOSTS as HOST_SPECS
from mmadaptformer.models.hosts import block_spec, host_spec
from mmadaptformer.models.multitask import TaskStreams

_BB = 'mmpretrain.models.backbones'
# Each host: its tiny backbone (as in test_hosts_mmpretrain_more.py), its
# neck and a head for it.
HOSTS = dict(
    tnt=("dict(type='TNT', arch=dict(embed_dims_outer=32, "
         'embed_dims_inner=8, num_layers=2, num_heads_outer=2, '
         'num_heads_inner=2), img_size=32)', 'None',
         "dict(type='LinearClsHead', num_classes=2, in_channels=32)"),
    levit=("dict(type='LeViT', arch='128s', img_size=32)",
           "dict(_delete_=True, type='GlobalAveragePooling')",
           "dict(type='LeViTClsHead', num_classes=2, in_channels=384, "
           'distillation=True)'),
    revvit=("dict(type='RevVisionTransformer', arch=dict(embed_dims=32, "
            'num_layers=2, num_heads=2, feedforward_channels=64), '
            'img_size=32)', 'None',
            "dict(type='LinearClsHead', num_classes=2, in_channels=64)"),
    conformer=("dict(type='Conformer', arch=dict(embed_dims=32, depths=3, "
               'num_heads=2, channel_ratio=1))', 'None',
               "dict(type='ConformerHead', num_classes=2, "
               'in_channels=[256, 32])'),
    mobilevit=("dict(type='MobileViT', arch=[['mobilenetv2', 16, 1, 1, 2], "
               "['mobilevit', 24, 2, 32, 64, 2, 2], "
               "['mobilevit', 32, 2, 32, 64, 1, 2]], out_indices=(2, ))",
               "dict(_delete_=True, type='GlobalAveragePooling')",
               "dict(type='LinearClsHead', num_classes=2, in_channels=128)"),
)


def _config(tmp_path, data, host):
    """The tiny image task on ``host``, adapters in every block."""
    backbone, neck, head = HOSTS[host]
    return write_config(
        tmp_path / f'{host}.py', TINY_IMAGE_CONFIG,
        image_data_cfg(data) +
        "model = dict(backbone=dict(_delete_=True, type='AdaptFormer', "
        f'adapter=dict(bottleneck=8), backbone={backbone}), neck={neck}, '
        f'head=dict(_delete_=True, **{head}))\n')


def test_host_declarations():
    assert {
        spec.backbone
        for spec in HOST_SPECS if host_spec(spec.backbone).side_stream
    } == {
        f'{_BB}.tnt.TNT', f'{_BB}.conformer.Conformer',
        f'{_BB}.mobilevit.MobileViT'
    }
    assert {(spec.block, block_spec(spec.block).stream_inputs)
            for spec in HOST_SPECS if block_spec(spec.block).stream_inputs != 1
            } == {(f'{_BB}.revvit.RevTransformerEncoderLayer', 2)}


@pytest.mark.parametrize('host', ['levit', 'revvit'])
def test_served_hosts_answer_as_each_task_alone(host, tmp_path,
                                                tiny_image_data,
                                                clean_loggers):
    """Two tasks with their own adapters (from block 0) and heads on one
    backbone, four images per task in one forward, equal each model alone.
    LeViT's MLP Residuals are batch-first; RevViT's blocks take and give
    (x1, x2), both laid out per task (with x1 alone: a shape error)."""
    from adapter_tasks import random_task_checkpoints
    config = _config(tmp_path, tiny_image_data, host)
    checkpoints = random_task_checkpoints(config, 'mmpretrain', tmp_path)
    engine = MultiTaskRecognizer()
    engine.add_task('a', config, checkpoints[0])
    engine.add_task('b', config, checkpoints[1])
    assert engine.streams.split_at == dict(a=0, b=0)
    images = stripes_images(tiny_image_data)
    results = engine(images, batch_size=4)
    for name, path in zip('ab', checkpoints):
        assert_task_scores(results,
                           ModelInferencer(config, path, name=name)(images),
                           name, images)
    assert results[images[0]]['a']['scores'] != \
        results[images[0]]['b']['scores']


@pytest.mark.parametrize(
    'host, backbone, why',
    [('tnt', 'TNT', 'its patch tokens pass beside the inner'),
     ('conformer', 'Conformer', 'its CNN branch runs beside'),
     ('mobilevit', 'MobileViT', 'each MobileVitBlock unfolds')])
def test_side_stream_hosts_are_refused(host, backbone, why, tmp_path,
                                       tiny_image_data, clean_loggers):
    """With the task streams in the blocks' inputs only, these give a shape
    error for more than one image per task (TNT and MobileViT even for
    one): refused, naming the task, the host and why, before the (empty)
    engine changes."""
    config = _config(tmp_path, tiny_image_data, host)
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'a.pth')
    engine = MultiTaskRecognizer()
    with pytest.raises(
            TaskError,
            match=rf"^Task 'a' \(.*{host}\.py\): the multi-task forward "
            rf'cannot serve {backbone} \(mmpretrain\.models\.backbones\.'
            rf'{host}\.{backbone}\): {why} .* Serve it alone'):
        engine.add_task('a', config, checkpoint)
    assert engine.tasks == []
    assert engine.blocks == []


class _Pair(nn.Module):
    """A reversible-style block: (x1, x2) -> (x1 + x2, 2 * x2)."""

    def forward(self, x1, x2):
        return x1 + x2, 2 * x2


@pytest.mark.parametrize('point', [0, 1, 2])
def test_streams_of_paired_inputs_and_outputs(point):
    """Blocks with two inputs holding the samples give each task its rows
    in both, before a block and after the last one (tuple output)."""
    blocks = [_Pair(), _Pair()]
    streams = TaskStreams()
    streams.install(blocks, [2, 2])
    streams.split_at = dict(a=point, b=point)
    x1, x2 = torch.arange(3.)[:, None], 10 * torch.arange(3.)[:, None]
    streams.begin(['a', 'b'])
    y = (x1, x2)
    for block in blocks:
        y = block(*y)
    assert streams.streams == [('a', ), ('b', )]
    streams.end()
    alone = (x1, x2)
    for block in blocks:
        alone = block(*alone)
    assert len(y) == len(alone) == 2
    for got, want in zip(y, alone):
        assert torch.equal(got, torch.cat([want, want]))
    with pytest.raises(RuntimeError, match='its inputs hold the samples'):
        streams.split_at = dict(a=0, b=0)
        streams.begin(['a', 'b'])
        blocks[0](x1, x2[:2])
    streams.end()
    streams.remove()
