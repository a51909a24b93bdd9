# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``convert_official.py`` given a model-zoo file of another MMAction2 or
MMPretrain backbone, which needs no conversion.

An MMAction2 MViT file (its patch embedding is a Conv3d
``backbone.patch_embed.projection``, as VideoMAE's) was taken as MMAction2's
VideoMAE layout: the default sizes were refused as "must be multiples of the
patch size 7 and tubelet size 3", and sizes that fit ended in 39 unmapped
keys. A Swin3D or T2T-ViT file got "Cannot detect the checkpoint type ...
pass the type explicitly", which only led to those unmapped keys, and a
BEiT or Swin file was told to go to "mmpretrain's VisionTransformer". Now
each is told that it needs no conversion and where it goes.
"""
import pytest
import torch
from mmengine.registry import MODELS, init_default_scope
from test_convert_zoo import zoo_state_dict

import mmadaptformer  # noqa: F401  (mmaction2's models import)
from mmadaptformer.models.converters import ConversionError, detect_source_type

NO_CONVERSION = 'needs no conversion'


def _model_state(scope: str, backbone: dict, head: dict) -> dict:
    """A tiny stock model's state dict, as its toolbox's model zoo saves
    it (``backbone.*`` and the head's keys)."""
    init_default_scope(scope)
    kind = 'Recognizer3D' if scope == 'mmaction' else 'ImageClassifier'
    key = 'cls_head' if scope == 'mmaction' else 'head'
    torch.manual_seed(0)
    model = MODELS.build({'type': kind, 'backbone': backbone, key: head})
    return model.state_dict()


def _mvit_state() -> dict:
    return _model_state(
        'mmaction',
        dict(
            type='MViT',
            arch=dict(
                embed_dims=16,
                num_layers=2,
                num_heads=1,
                downscale_indices=[1]),
            spatial_size=32,
            temporal_size=4),
        dict(type='MViTHead', in_channels=32, num_classes=2))


def test_an_mmaction2_mvit_file_is_not_taken_for_videomae():
    state = _mvit_state()
    assert state['backbone.patch_embed.projection.weight'].dim() == 5
    with pytest.raises(ConversionError) as error:
        detect_source_type(state)
    message = str(error.value)
    assert NO_CONVERSION in message, message
    assert "not mmaction2's VideoMAE VisionTransformer" in message, message
    assert "'backbone.cls_token'" in message, message
    assert '--pretrained' in message and '\n' not in message, message


def test_a_videomae_zoo_file_is_still_detected():
    """Kept behaviour: MMAction2's VideoMAE files, with or without their
    ``backbone.`` prefix, and with a layer scale."""
    state = zoo_state_dict()
    assert detect_source_type(state) == 'mmaction2'
    bare = {
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    }
    assert detect_source_type(bare) == 'mmaction2'
    assert detect_source_type(
        zoo_state_dict(layer_scale_init_value=0.1)) == 'mmaction2'


@pytest.mark.parametrize('scope, backbone, head', [
    ('mmaction',
     dict(
         type='SwinTransformer3D',
         arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1]),
         pretrained=None,
         window_size=(2, 2, 2)),
     dict(type='I3DHead', in_channels=128, num_classes=2)),
    ('mmpretrain',
     dict(
         type='T2T_ViT',
         img_size=32,
         embed_dims=32,
         t2t_cfg=dict(token_dims=16),
         num_layers=1,
         layer_cfgs=dict(num_heads=2, feedforward_channels=64)),
     dict(type='LinearClsHead', in_channels=32, num_classes=2)),
])
def test_another_toolbox_model_is_said_to_need_no_conversion(
        scope, backbone, head):
    with pytest.raises(ConversionError) as error:
        detect_source_type(_model_state(scope, backbone, head))
    message = str(error.value)
    assert NO_CONVERSION in message, message
    assert 'pass the type explicitly' not in message, message


def test_an_mmpretrain_beit_file_is_not_sent_to_visiontransformer():
    state = _model_state(
        'mmpretrain',
        dict(
            type='BEiTViT',
            arch=dict(
                embed_dims=32,
                num_layers=1,
                num_heads=2,
                feedforward_channels=64),
            img_size=32),
        dict(type='LinearClsHead', in_channels=32, num_classes=2))
    with pytest.raises(ConversionError) as error:
        detect_source_type(state)
    message = str(error.value)
    assert NO_CONVERSION in message, message
    assert "give it to mmpretrain's VisionTransformer" not in message
