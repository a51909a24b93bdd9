# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Two tasks on one mmpretrain ``SwinTransformerV2`` with ``window_size``
1, whose frozen ``relative_coords_table`` buffers hold NaN (mmpretrain
divides by ``window_size - 1``). ``torch.equal`` calls a NaN unequal to
itself, so the second task was refused as ``not trained on the shared
frozen backbone ... 5 of its frozen tensors differ`` although both were
made on one backbone. A task whose frozen tensor really differs is still
refused."""
import pytest
import torch
from adapter_tasks import random_task_checkpoints
from config_writers import write_config
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.apis import MultiTaskRecognizer, TaskError

HOST = dict(
    type='SwinTransformerV2',
    arch=dict(
        embed_dims=16,
        depths=[1, 1, 2, 1],
        num_heads=[1, 1, 2, 2],
        extra_norm_every_n_blocks=0),
    img_size=64,
    window_size=[1, 1, 1, 1])
SWINV2 = (f'model = dict(backbone=dict(backbone=dict({HOST!r}, '
          '_delete_=True)), '
          "neck=dict(_delete_=True, type='GlobalAveragePooling'), "
          'head=dict(in_channels=128))\n')
TABLE = 'backbone.stages.0.blocks.0.attn.w_msa.relative_coords_table'
QKV = 'backbone.stages.0.blocks.0.attn.w_msa.qkv.weight'


@pytest.fixture(scope='module')
def swinv2_tasks(tmp_path_factory):
    folder = tmp_path_factory.mktemp('swinv2_tasks')
    config = write_config(folder / 'swinv2.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
                          SWINV2)
    first, second = random_task_checkpoints(config, 'mmpretrain', folder)
    state = torch.load(first, weights_only=True)['state_dict']
    assert torch.isnan(state[TABLE]).any()  # The case itself.
    return config, first, second


def test_a_second_task_on_a_backbone_with_nan_buffers_is_served(swinv2_tasks):
    config, first, second = swinv2_tasks
    engine = MultiTaskRecognizer()
    engine.add_task('a', config, first)
    engine.add_task('b', config, second)
    assert engine.tasks == ['a', 'b']


def test_a_really_different_frozen_tensor_is_still_refused(
        swinv2_tasks, tmp_path):
    config, first, second = swinv2_tasks
    checkpoint = torch.load(second, weights_only=True)
    checkpoint['state_dict'][QKV] = checkpoint['state_dict'][QKV] + 1
    changed = str(tmp_path / 'changed.pth')
    torch.save(checkpoint, changed)
    engine = MultiTaskRecognizer()
    engine.add_task('a', config, first)
    with pytest.raises(TaskError, match='frozen tensors differ') as info:
        engine.add_task('b', config, changed)
    assert QKV in str(info.value)
    assert TABLE not in str(info.value)
    assert engine.tasks == ['a']
