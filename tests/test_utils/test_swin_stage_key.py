# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One pattern tells a Swin Transformer's stages for both readers: the
``--pretrained`` screening (:func:`unconverted_vit_layout`, utils layer) and
the converter's report of unmapped keys (models layer).

Guard of kept behaviour: the screening had its own, looser copy
(``layers.`` and ``.blocks.`` anywhere in the key). On the state dicts of
the real classes (mmaction2's Swin3D, which names its patch embedding
``patch_embed.proj`` as the official ViTs do, and mmaction2's ViT) both
copies judged alike, so no test fails on the old code; it keeps them one.
"""
import torch
from mmengine.registry import MODELS, init_default_scope
from official_vits import official_layout_vit

from mmadaptformer.models.converters.report import (UNSUPPORTED_HINTS,
                                                    unsupported_hint)
from mmadaptformer.utils.official_vit_keys import (SWIN_STAGE_KEY,
                                                   unconverted_vit_layout)


def _state(backbone: dict) -> dict:
    init_default_scope('mmaction')
    torch.manual_seed(0)
    return MODELS.build(backbone).state_dict()


def _swin3d() -> dict:
    return _state(
        dict(
            type='SwinTransformer3D',
            arch=dict(embed_dims=16, depths=[1, 1], num_heads=[1, 1]),
            patch_size=(2, 4, 4),
            window_size=(2, 4, 4),
            pretrained2d=False,
            out_indices=(1, )))


def test_a_swin3d_file_is_not_an_unconverted_vit():
    swin = _swin3d()
    assert 'patch_embed.proj.weight' in swin
    stages = [k for k in swin if k.startswith('layers.')]
    assert stages and all(SWIN_STAGE_KEY.match(k) for k in stages)
    assert unconverted_vit_layout(swin) is None
    # As tools/train.py saves it: under backbone., with a head.
    saved = {'state_dict': {f'backbone.{k}': v for k, v in swin.items()}}
    saved['state_dict']['cls_head.fc_cls.weight'] = torch.zeros(2, 32)
    assert unconverted_vit_layout(saved, 'backbone.') is None


def test_an_official_layout_vit_is_still_named():
    vit = official_layout_vit()
    assert not any(SWIN_STAGE_KEY.match(k) for k in vit)
    assert unconverted_vit_layout(vit) == 'patch_embed.proj.weight'
    saved = {'state_dict': {f'backbone.{k}': v for k, v in vit.items()}}
    assert unconverted_vit_layout(
        saved, 'backbone.') == 'backbone.patch_embed.proj.weight'


def test_the_converter_report_uses_the_same_pattern():
    assert any(pattern is SWIN_STAGE_KEY for pattern, _ in UNSUPPORTED_HINTS)
    swin = _swin3d()
    hints = {unsupported_hint(k) for k in swin if k.startswith('layers.')}
    assert hints == {
        " (a Swin Transformer's stages (layers.N.blocks.M), not a plain "
        "ViT: start from mmpretrain's model-zoo Swin weights)"
    }
