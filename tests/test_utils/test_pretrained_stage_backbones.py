# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint of mmpretrain's PoolFormer or RIFormer given as
``--pretrained`` to a ViT is a checkpoint of another backbone, not an
unconverted official ViT file.

Both name their patch embedding ``patch_embed.proj``, as the official
VideoMAE/MAE code and timm do, and their stages ``network.N``. Before,
such a file on the tiny AdaptFormer image config was called "in the key
layout of the official VideoMAE/MAE/DeiT/AdaptFormer code or timm" and sent
to ``convert_official.py --type mae``, which cannot convert it. A file with
numbered stacks of modules none of which is ``blocks`` is now another
backbone, and reaches the load check, which names it a checkpoint of
another architecture. The other mmpretrain backbones checked (ConvNeXt,
ResNet, DeiT3, BEiT, EVA-02, MViT) name their patch embedding otherwise and
never were taken for that layout: guarded here.
"""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.utils.official_vit_keys import (other_backbone,
                                                   unconverted_vit_layout)
from mmadaptformer.utils.pretrained_backbone import set_pretrained_backbone
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

#: A tiny arch of PoolFormer and RIFormer (one block per stage).
_STAGES = dict(layers=[1, 1, 1, 1], embed_dims=[8, 8, 8, 8])


def _tiny_vit(type_name: str) -> dict:
    """A one-layer ViT-like mmpretrain backbone of 32x32 images."""
    return dict(
        type=type_name,
        arch=dict(
            embed_dims=8, num_layers=1, num_heads=1, feedforward_channels=8),
        img_size=32,
        patch_size=16)


#: Backbones whose patch embedding is ``patch_embed.proj``: they were taken
#: for the official ViT layout.
NAMED_AS_VIT = {
    'PoolFormer': dict(type='PoolFormer', arch=_STAGES),
    'RIFormer': dict(type='RIFormer', arch=_STAGES),
}
#: Other mmpretrain backbones, tiny; never taken for it.
OTHERS = {
    'ConvNeXt':
    dict(type='ConvNeXt', arch=dict(depths=[1, 1], channels=[8, 8])),
    'ResNet': dict(type='ResNet', depth=18),
    'DeiT3': _tiny_vit('DeiT3'),
    'BEiTViT': _tiny_vit('BEiTViT'),
    'ViTEVA02': _tiny_vit('ViTEVA02'),
    'MViT': dict(type='MViT', arch='tiny', img_size=32),
}


def _classifier_state(backbone: dict) -> dict:
    """The state dict of an mmpretrain classifier on ``backbone``, as
    tools/train.py saves it (``backbone.*``, ``head.*``)."""
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=backbone,
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=2,
                      in_channels=8))).state_dict()


@pytest.mark.parametrize('name', sorted(NAMED_AS_VIT))
def test_a_stage_backbone_file_is_another_backbone(name):
    state = _classifier_state(NAMED_AS_VIT[name])
    assert 'backbone.patch_embed.proj.weight' in state
    assert 'backbone.network.0.0.norm1.weight' in state
    assert other_backbone(state, 'backbone.')
    assert unconverted_vit_layout({'state_dict': state}, 'backbone.') is None
    bare = {
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    }
    assert unconverted_vit_layout(bare) is None


@pytest.mark.parametrize('name', sorted(NAMED_AS_VIT))
def test_a_stage_backbone_on_a_vit_is_another_architecture(name, tmp_path):
    from mmadaptformer.models import AdaptFormer  # noqa: F401 (registers)
    path = str(tmp_path / f'{name}.pth')
    torch.save(
        {
            'state_dict': _classifier_state(NAMED_AS_VIT[name]),
            'meta': {}
        }, path)
    cfg = Config.fromfile(TINY_ADAPTFORMER_IMAGE_CONFIG)
    key, init_cfg = set_pretrained_backbone(cfg, path)
    assert init_cfg == dict(
        type='Pretrained', checkpoint=path, prefix='backbone.')
    init_default_scope('mmpretrain')
    with pytest.raises(StateDictMismatchError) as info:
        MODELS.build(cfg.model).init_weights()
    message = str(info.value)
    assert 'saved from another architecture' in message, message
    assert 'unexpected keys' in message and 'network.0.0.' in message
    assert 'convert_official.py' not in message


@pytest.mark.parametrize('name', sorted(OTHERS))
def test_other_mmpretrain_backbones_are_no_official_vit(name):
    """Guard of kept behaviour."""
    init_default_scope('mmpretrain')
    state = MODELS.build(OTHERS[name]).state_dict()
    assert 'patch_embed.proj.weight' not in state
    assert unconverted_vit_layout(state) is None
    assert unconverted_vit_layout(
        {f'backbone.{k}': v
         for k, v in state.items()}, 'backbone.') is None


def test_the_patch_embedding_alone_is_still_named():
    """Guard of kept behaviour: no stack, too little is known of it; the
    official layout with its MAE decoder's stack is still that layout."""
    alone = {'patch_embed.proj.weight': torch.zeros(8, 3, 16, 16)}
    assert unconverted_vit_layout(alone) == 'patch_embed.proj.weight'
    mae = dict(
        alone, **{
            'blocks.0.attn.qkv.weight': torch.zeros(24, 8),
            'decoder_blocks.0.attn.qkv.weight': torch.zeros(24, 8)
        })
    assert unconverted_vit_layout(mae) == 'patch_embed.proj.weight'


def test_train_tool_calls_a_poolformer_another_architecture(
        tmp_path, tiny_image_data):
    """What a user runs: ``tools/train.py --pretrained`` of a PoolFormer
    classifier's checkpoint on the tiny AdaptFormer image config."""
    from config_writers import image_data_cfg, write_config
    from tool_runners import run_tool
    path = str(tmp_path / 'poolformer.pth')
    torch.save(
        {
            'state_dict': _classifier_state(NAMED_AS_VIT['PoolFormer']),
            'meta': {}
        }, path)
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    proc = run_tool([
        'train.py', config, '--pretrained', path, '--work-dir', tmp_path / 'w'
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert (f'Pretrained checkpoint {path} of '
            'model.backbone.backbone.init_cfg (prefix=\'backbone.\') does '
            'not fit the model: it was probably saved from another '
            'architecture') in proc.stdout, proc.stdout[-3000:]
    assert 'convert_official.py' not in proc.stdout
    assert 'key layout of the official' not in proc.stdout
