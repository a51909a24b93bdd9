# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A backbone batch norm that a recipe trains (``extra_trainable``) is not
one of the frozen batch norms kept in eval mode: only a batch norm whose
every tensor is frozen is (:func:`mmadaptformer.models.frozen_batch_norms`:
"one with a trainable tensor is not listed")."""
import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, video_data_cfg, write_config
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner
from torch import nn

from mmadaptformer.models import frozen_batch_norms, plan_trainable

#: UniFormer's convolution stages hold batch norms, and so does the host's
#: final ``norm``, whose state-dict keys are ``backbone.norm.*``.
UNIFORMER = """
model = dict(
    backbone=dict(backbone=dict(
        _delete_=True, type='UniFormer', depth=[1, 1, 1, 1],
        embed_dim=[16, 16, 32, 64], head_dim=16, img_size=32)),
    cls_head=dict(_delete_=True, type='I3DHead', in_channels=64,
                  num_classes=2))
"""
TRAINED_NORM = r'^backbone\.norm\.'


def _model(tmp_path):
    init_default_scope('mmaction')
    cfg_path = write_config(tmp_path / 'uniformer.py',
                            TINY_ADAPTFORMER_VIDEO_CONFIG, UNIFORMER)
    return MODELS.build(Config.fromfile(cfg_path).model)


def test_a_trained_backbone_batch_norm_is_not_frozen(tmp_path, clean_loggers):
    model = _model(tmp_path)
    host = model.backbone.backbone
    plan = plan_trainable(model, extra_trainable=[TRAINED_NORM])
    assert plan.groups['other'] == [
        'backbone.norm.weight', 'backbone.norm.bias'
    ]
    norms = frozen_batch_norms(model, plan)
    assert all(norm is not host.norm for norm in norms)
    # The convolution stages' batch norms stay frozen.
    assert len(norms) == 4
    assert all(isinstance(norm, nn.BatchNorm3d) for norm in norms)


@pytest.mark.xfail(
    strict=True,
    raises=RuntimeError,
    reason='plan_trainable saves only the matched parameters of an '
    'extra_trainable batch norm, so its running statistics stay frozen keys, '
    'while frozen_batch_norms leaves it in train mode: AdapterHook refuses '
    'the changed statistics at the end of epoch 1 (trainable.py:236-245, '
    'trainable.py:275-301)')
def test_training_a_backbone_batch_norm_runs_an_epoch(tmp_path,
                                                      tiny_video_data,
                                                      clean_loggers):
    """UniFormer's final norm is a batch norm (its ``fc_norm``): a recipe
    that trains it ran the epoch, then lost it to "AdapterHook: 3 frozen
    tensors changed during epoch 1 ... ['backbone.norm.running_mean',
    'backbone.norm.running_var', 'backbone.norm.num_batches_tracked']"."""
    cfg_path = write_config(
        tmp_path / 'uniformer.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + UNIFORMER +
        "custom_hooks = [dict(type='AdapterHook', allow_random_backbone="
        f"True, extra_trainable=[r'{TRAINED_NORM}'])]\n"
        'train_cfg = dict(max_epochs=1, val_begin=2)\n')
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.randomness = dict(seed=0)
    Runner.from_cfg(cfg).train()
