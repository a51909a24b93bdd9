# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A Swin3D recognizer's checkpoint given as ``--pretrained`` to a ViT is a
checkpoint of another backbone, not an unconverted official ViT file.

mmaction2's ``SwinTransformer3D`` names its patch embedding
``patch_embed.proj``, as the official VideoMAE code and timm do. Before,
such a file on the tiny AdaptFormer video config was called "in the key
layout of the official VideoMAE/MAE/DeiT/AdaptFormer code or timm" and sent
to ``convert_official.py --type videomae``, which refuses it ("needs no
conversion; give it as it is to a config of the backbone it holds"): each
told the user to use the other. Now it reaches the load check, which names
it a checkpoint of another architecture with the keys that differ.
"""
import pytest
import torch
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.utils.pretrained_backbone import set_pretrained_backbone
from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _save_swin3d_recognizer(path):
    """A tiny mmaction2 Swin3D recognizer, saved as tools/train.py saves
    it (``backbone.patch_embed.proj.weight``,
    ``backbone.layers.N.blocks.M``)."""
    init_default_scope('mmaction')
    model = MODELS.build(
        dict(
            type='Recognizer3D',
            backbone=dict(
                type='SwinTransformer3D',
                arch=dict(embed_dims=16, depths=[1, 1], num_heads=[1, 1]),
                patch_size=(2, 4, 4),
                window_size=(2, 4, 4),
                pretrained2d=False,
                out_indices=(1, )),
            cls_head=dict(type='I3DHead', num_classes=2, in_channels=32)))
    state = model.state_dict()
    assert 'backbone.patch_embed.proj.weight' in state
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path)


def test_a_swin3d_checkpoint_on_a_vit_is_another_architecture(tmp_path):
    from mmadaptformer.models import AdaptFormer  # noqa: F401 (registers)
    swin = _save_swin3d_recognizer(tmp_path / 'swin3d.pth')
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    key, init_cfg = set_pretrained_backbone(cfg, swin)
    assert key == 'model.backbone.backbone.init_cfg'
    assert init_cfg == dict(
        type='Pretrained', checkpoint=swin, prefix='backbone.')

    init_default_scope('mmaction')
    with pytest.raises(StateDictMismatchError) as info:
        MODELS.build(cfg.model).init_weights()
    message = str(info.value)
    assert 'saved from another architecture' in message
    assert 'layers.0.blocks.0.attn.qkv.weight' in message
    assert 'key layout of the official' not in message


def test_another_backbones_file_is_not_sent_to_the_converter(tmp_path):
    """The load check's advice names convert_official.py only for a file
    in the official or timm ViT layout, which it converts; it was named
    for every file that did not fit, a Swin3D recognizer's included."""
    from mmadaptformer.models import AdaptFormer  # noqa: F401 (registers)
    swin = _save_swin3d_recognizer(tmp_path / 'swin3d.pth')
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    set_pretrained_backbone(cfg, swin)
    init_default_scope('mmaction')
    with pytest.raises(StateDictMismatchError) as info:
        MODELS.build(cfg.model).init_weights()
    message = str(info.value)
    assert message.endswith(
        'Point init_cfg.checkpoint at a checkpoint of this architecture.')
    assert 'convert_official.py' not in message


def test_an_official_layout_file_keeps_the_converter_advice(tmp_path):
    """Guard of kept behaviour: a timm-layout file written as a config's
    own init_cfg (no --pretrained screening) is still told to convert."""
    from mmadaptformer.models import AdaptFormer  # noqa: F401 (registers)
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    host = MODELS.build(cfg.model.backbone.backbone)
    state = {
        k.replace('patch_embed.projection', 'patch_embed.proj'): v
        for k, v in host.state_dict().items()
    }
    path = str(tmp_path / 'official.pth')
    torch.save(state, path)
    cfg.model.backbone.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=path)
    with pytest.raises(StateDictMismatchError) as info:
        MODELS.build(cfg.model).init_weights()
    assert ('Point init_cfg.checkpoint at a checkpoint of this '
            'architecture, or convert it with '
            'tools/model_converters/convert_official.py.') in str(info.value)
