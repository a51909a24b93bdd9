# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint of mmpretrain's HiViT given as ``--pretrained`` to a ViT is
a checkpoint of another backbone, not an unconverted official ViT file.

HiViT names its patch embedding ``patch_embed.proj`` and its blocks
``blocks.N``, as the official MAE code and timm do. Before, such a file on
the tiny AdaptFormer image config was called "in the key layout of the
official VideoMAE/MAE/DeiT/AdaptFormer code or timm" and sent to
``convert_official.py --type mae``, which then refused every one of its
155 keys as unmapped. Its first blocks have no attention (MLPs, and patch
merging), which every block of those ViTs has: now it reaches the load
check, which names it a checkpoint of another architecture.
"""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from official_vits import official_layout_vit
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.utils.official_vit_keys import (other_backbone,
                                                   unconverted_vit_layout)
from mmadaptformer.utils.pretrained_backbone import set_pretrained_backbone
from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _hivit_classifier() -> dict:
    """A tiny mmpretrain HiViT classifier's state dict, as tools/train.py
    saves it (``backbone.patch_embed.proj.weight``, ``backbone.blocks.N``)."""
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='HiViT', arch='tiny', img_size=32, patch_size=16),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=2, in_channels=384)))
    state = model.state_dict()
    assert 'backbone.patch_embed.proj.weight' in state
    assert 'backbone.blocks.0.mlp.fc1.weight' in state
    assert 'backbone.blocks.0.attn.qkv.weight' not in state
    return state


def test_a_hivit_file_is_another_backbone():
    state = _hivit_classifier()
    assert other_backbone(state, 'backbone.')
    assert unconverted_vit_layout({'state_dict': state}, 'backbone.') is None
    bare = {
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    }
    assert unconverted_vit_layout(bare) is None


def test_a_hivit_checkpoint_on_a_vit_is_another_architecture(tmp_path):
    from mmadaptformer.models import AdaptFormer  # noqa: F401 (registers)
    path = str(tmp_path / 'hivit.pth')
    torch.save({'state_dict': _hivit_classifier(), 'meta': {}}, path)
    cfg = Config.fromfile(TINY_ADAPTFORMER_IMAGE_CONFIG)
    key, init_cfg = set_pretrained_backbone(cfg, path)
    assert key == 'model.backbone.backbone.init_cfg'
    assert init_cfg == dict(
        type='Pretrained', checkpoint=path, prefix='backbone.')
    init_default_scope('mmpretrain')
    with pytest.raises(StateDictMismatchError) as info:
        MODELS.build(cfg.model).init_weights()
    message = str(info.value)
    assert 'saved from another architecture' in message, message
    assert 'convert_official.py' not in message
    assert 'key layout of the official' not in message


def test_official_layout_vits_are_still_named():
    """Guard of kept behaviour: mmaction2's and mmpretrain's tiny ViTs
    with the official names of their patch embedding and blocks (every
    block has attention), and a file of the patch embedding alone."""
    official = official_layout_vit()
    assert not other_backbone(official, '')
    assert unconverted_vit_layout(official) == 'patch_embed.proj.weight'
    pretrain = {f'encoder.{k}': v for k, v in official.items()}
    assert unconverted_vit_layout(pretrain) == \
        'encoder.patch_embed.proj.weight'
    alone = {'patch_embed.proj.weight': torch.zeros(8, 3, 16, 16)}
    assert unconverted_vit_layout(alone) == 'patch_embed.proj.weight'
