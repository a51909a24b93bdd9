# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A backbone batch norm that a recipe trains (``extra_trainable``) is not
one of the frozen batch norms kept in eval mode: only a batch norm whose
every tensor is frozen is (:func:`mmadaptformer.models.frozen_batch_norms`:
"one with a trainable tensor is not listed"). Its running statistics train
with it: they are saved keys, not frozen ones."""
import os.path as osp

import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool, video_data_cfg,
                     write_config)
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner
from tiny_uniformer import save_uniformer_checkpoint, uniformer_model_cfg
from torch import nn

from mmadaptformer.apis import init_model
from mmadaptformer.engine import ADAPTER_META_KEY
from mmadaptformer.models import frozen_batch_norms, plan_trainable
from mmadaptformer.utils import safe_torch_load

#: UniFormer's final ``norm`` is a batch norm (``backbone.norm.*``).
TRAINED_NORM = r'^backbone\.norm\.'
NORM_BUFFERS = [
    'backbone.norm.running_mean', 'backbone.norm.running_var',
    'backbone.norm.num_batches_tracked'
]


def _model(tmp_path):
    init_default_scope('mmaction')
    cfg_path = write_config(tmp_path / 'uniformer.py',
                            TINY_ADAPTFORMER_VIDEO_CONFIG,
                            uniformer_model_cfg())
    return MODELS.build(Config.fromfile(cfg_path).model)


def test_a_trained_backbone_batch_norm_is_not_frozen(tmp_path, clean_loggers):
    """The trained norm's parameters train and its running statistics are
    saved with them; the convolution stages' batch norms stay frozen, every
    tensor of theirs a frozen key."""
    model = _model(tmp_path)
    host = model.backbone.backbone
    plan = plan_trainable(model, extra_trainable=[TRAINED_NORM])
    assert plan.groups['other'] == [
        'backbone.norm.weight', 'backbone.norm.bias'
    ]
    assert set(NORM_BUFFERS) <= set(plan.saved_keys)
    assert not set(NORM_BUFFERS) & set(plan.frozen_keys)
    norms = frozen_batch_norms(model, plan)
    assert all(norm is not host.norm for norm in norms)
    assert len(norms) == 4
    assert all(isinstance(norm, nn.BatchNorm3d) for norm in norms)
    assert 'backbone.blocks1.0.norm1.running_mean' in plan.frozen_keys
    # Without the pattern the final norm is frozen, statistics included.
    plan = plan_trainable(model)
    assert set(NORM_BUFFERS) <= set(plan.frozen_keys)
    assert len(frozen_batch_norms(model, plan)) == 5


def test_training_a_backbone_batch_norm_runs_an_epoch(tmp_path,
                                                      tiny_video_data,
                                                      clean_loggers):
    """A recipe that trains UniFormer's final batch norm runs its epoch (it
    lost it to "AdapterHook: 3 frozen tensors changed during epoch 1 ...
    ['backbone.norm.running_mean', 'backbone.norm.running_var',
    'backbone.norm.num_batches_tracked']"). Its adapter-only checkpoint
    holds the norm's trained statistics, listed in the record's
    ``saved_keys``, and loads back with tools/test.py, tools/infer.py and
    ``init_model``, which restore them over the pretrained file's."""
    pretrained = str(tmp_path / 'uniformer.pth')
    stock = save_uniformer_checkpoint(pretrained)
    cfg_path = write_config(
        tmp_path / 'uniformer.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + uniformer_model_cfg(pretrained) +
        "custom_hooks = [dict(type='AdapterHook', adapter_only_checkpoint="
        f"True, extra_trainable=[r'{TRAINED_NORM}'])]\n"
        'train_cfg = dict(max_epochs=1, val_begin=2)\n')
    cfg = Config.fromfile(cfg_path)
    work = tmp_path / 'work'
    cfg.work_dir = str(work)
    cfg.randomness = dict(seed=0)
    Runner.from_cfg(cfg).train()

    checkpoint = safe_torch_load(str(work / 'epoch_1.pth'))
    assert set(NORM_BUFFERS) <= set(
        checkpoint['meta'][ADAPTER_META_KEY]['saved_keys'])
    state = checkpoint['state_dict']
    assert set(NORM_BUFFERS) <= set(state)
    assert state['backbone.norm.num_batches_tracked'] > 0
    assert not torch.equal(state['backbone.norm.running_mean'],
                           stock['norm.running_mean'])
    assert 'backbone.blocks1.0.norm1.running_mean' not in state

    out = run_tool([
        'test.py', cfg_path, work / 'epoch_1.pth', '--work-dir',
        tmp_path / 'test'
    ],
                   cwd=tmp_path).stdout
    assert 'acc/top1' in out
    video = osp.join(tiny_video_data['videos'], 'val_0_0.mp4')
    out = run_tool(['infer.py', cfg_path, work / 'epoch_1.pth', video],
                   cwd=tmp_path).stdout
    assert 'val_0_0.mp4' in out, out
    model, _ = init_model(cfg_path, str(work / 'epoch_1.pth'))
    loaded = model.state_dict()
    for key in NORM_BUFFERS:
        assert torch.equal(loaded[key], state[key]), key
    assert torch.equal(loaded['backbone.blocks1.0.norm1.running_mean'],
                       stock['blocks1.0.norm1.running_mean'])
