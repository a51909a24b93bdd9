# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A wrong ``block_types`` declaration is a ConfigError naming
``model.backbone.block_types[i]``, and the wiring the adapters use is
resolved per block type (declared or known, with the default branch)."""
import pytest
from helpers import VIDEO_HOST
from mmengine.registry import MODELS, init_default_scope
from torch import nn

from mmadaptformer.models import AdaptFormer, inject_adapters
from mmadaptformer.models.adapters.block_wiring import (adapted_wiring,
                                                        check_block_types)
from mmadaptformer.utils import ConfigError

EXAMPLE = "block_types=[dict(type='MyBlock', norm='norm2', ffn='mlp')]"


@pytest.mark.parametrize('block_types, message', [
    ('Block', 'model.backbone.block_types must be a list of dicts such as '
     f"{EXAMPLE}, but got 'Block'."),
    (dict(type='Block', norm='norm2', ffn='mlp'),
     'model.backbone.block_types must be a list of dicts such as '
     f"{EXAMPLE}, but got {{'type': 'Block', 'norm': 'norm2', "
     "'ffn': 'mlp'}."),
    (['Block'], 'model.backbone.block_types[0] must be a dict such as '
     "dict(type='MyBlock', norm='norm2', ffn='mlp'), but got 'Block'."),
    ([dict(type='Block', norm='norm2', ffn='mlp', rank=4)],
     "model.backbone.block_types[0] has unknown keys ['rank']; the accepted "
     "keys are ['type', 'norm', 'ffn', 'branch']."),
    ([dict(type='A', norm='n', ffn='f'),
      dict(type='Block', norm='norm2')
      ], "model.backbone.block_types[1] needs a non-empty string 'ffn', e.g. "
     f"{EXAMPLE}, but got {{'type': 'Block', 'norm': 'norm2'}}."),
    ([dict(type='Block', norm='norm2', ffn='mlp', branch='')
      ], "model.backbone.block_types[0]['branch'] must be a non-empty string, "
     "but got ''."),
])
def test_a_wrong_declaration_is_a_config_error_naming_its_key(
        block_types, message):
    """They were plain TypeError/ValueError, which the tools do not end
    on one line."""
    with pytest.raises(ConfigError) as info:
        check_block_types(block_types)
    assert str(info.value) == message
    # Where the declaration is a config key, the model names it the same.
    init_default_scope('mmaction')
    with pytest.raises(ConfigError) as info:
        MODELS.build(
            dict(
                type='AdaptFormer',
                backbone=dict(VIDEO_HOST),
                block_types=block_types))
    assert str(info.value) == message
    # Another key where the declaration sits elsewhere.
    with pytest.raises(ConfigError, match=r'^my\.block_types'):
        check_block_types(block_types, key='my.block_types')


def test_the_wiring_is_resolved_per_adapted_block_type():
    known = AdaptFormer(backbone=dict(VIDEO_HOST), layers=[1])
    assert known.block_wiring == [
        dict(type='Block', norm='norm2', ffn='mlp', branch='drop_path')
    ]
    # Declared without a branch: the FFN itself (it adds no identity).
    declared = AdaptFormer(
        backbone=dict(VIDEO_HOST),
        block_types=[dict(type='Block', norm='norm1', ffn='mlp')])
    assert declared.block_wiring == [
        dict(type='Block', norm='norm1', ffn='mlp', branch='mlp')
    ]
    # An mmcv FFN that adds the identity: its dropout_layer; by qualname.
    init_default_scope('mmpretrain')
    vit = MODELS.build(
        dict(
            type='VisionTransformer',
            arch=dict(
                embed_dims=32,
                num_layers=2,
                num_heads=2,
                feedforward_channels=64),
            img_size=32,
            patch_size=16))
    inject_adapters(vit, layers=[0])
    adapted = [m for m in vit.modules() if hasattr(m, 'adaptmlp')]
    assert adapted_wiring(vit, adapted) == [
        dict(
            type='TransformerEncoderLayer',
            norm='ln2',
            ffn='ffn',
            branch='ffn.dropout_layer')
    ]
    assert adapted_wiring(vit, []) == []
    assert adapted_wiring(nn.Linear(2, 2), adapted) == []
