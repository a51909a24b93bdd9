# Copyright (c) mmadaptformer contributors. All rights reserved.
"""VPT on a declared AdaptFormer host that is not promptable (Conformer,
MobileViT, whose transformer blocks are ViT layers) is the README's one-line
``ConfigError`` naming ``model.backbone.backbone.type``; it was a
``ValueError`` traceback about the host's ``patch_embed`` or
``embed_dims``. Its reason says the blocks are ViT layers and the host
around them is what VPT cannot prompt; it said "its TransformerEncoderLayer
blocks are not the ViT token sequence VPT inserts prompts into", wrong for
ViT layers."""
import pytest

from mmadaptformer.models import VPT
from mmadaptformer.utils import ConfigError

HOSTS = {
    'Conformer':
    dict(
        type='mmpretrain.Conformer',
        arch=dict(embed_dims=32, depths=3, num_heads=2, channel_ratio=1)),
    'MobileViT':
    dict(
        type='mmpretrain.MobileViT',
        arch=[['mobilenetv2', 16, 1, 1, 2], ['mobilevit', 24, 2, 32, 64, 2,
                                             2]]),
}


@pytest.mark.parametrize('name', list(HOSTS))
def test_a_host_not_declared_promptable_is_refused(name):
    with pytest.raises(ConfigError) as e:
        VPT(backbone=HOSTS[name], num_prompts=2)
    assert str(e.value) == (
        f'model.backbone.backbone.type: VPT cannot prompt {name}: it is an '
        'AdaptFormer host, not a VPT one (its blocks are ViT layers, but '
        f'{name} has no token sequence of its own around them for the '
        'prompts). '
        'VPT prompts: mmaction.VisionTransformer, '
        'mmpretrain.VisionTransformer, '
        'mmpretrain.DistilledVisionTransformer, mmpretrain.DeiT3. Use '
        "type='AdaptFormer' for it.")
