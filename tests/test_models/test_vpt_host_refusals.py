# Copyright (c) mmadaptformer contributors. All rights reserved.
"""VPT on a supported AdaptFormer host that it cannot prompt (Swin, BEiT,
EVA-02, MViT) is refused as an AdaptFormer host: the line names the hosts
VPT prompts and says to use ``type='AdaptFormer'``. Before, it listed block
class names (``Block, TransformerEncoderLayer, ...``) and ended with
"Windowed attention (e.g. Swin) has no place for prompt tokens", also for
BEiT and EVA-02, whose attention is global, and said nothing to do.

A backbone of no supported host (a CNN) names the hosts VPT prompts too."""
import pytest

from mmadaptformer.models import VPT
from mmadaptformer.utils import ConfigError

TINY_VIT = dict(
    embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
VPT_HOSTS = ('mmaction.VisionTransformer, mmpretrain.VisionTransformer, '
             'mmpretrain.DistilledVisionTransformer, mmpretrain.DeiT3')
# name: (backbone, its block type)
ADAPTFORMER_HOSTS = {
    'SwinTransformer':
    (dict(type='mmpretrain.SwinTransformer', arch='tiny',
          img_size=32), 'SwinBlock'),
    'BEiTViT': (dict(
        type='mmpretrain.BEiTViT', arch=TINY_VIT, img_size=32,
        patch_size=16), 'BEiTTransformerEncoderLayer'),
    'ViTEVA02': (dict(
        type='mmpretrain.ViTEVA02', arch=TINY_VIT, img_size=28,
        patch_size=14), 'EVA02EndcoderLayer'),
    'MViT': (dict(
        type='mmaction.MViT',
        arch=dict(
            embed_dims=16, num_layers=2, num_heads=1, downscale_indices=[1]),
        spatial_size=32,
        temporal_size=4), 'MultiScaleBlock'),
}


@pytest.mark.parametrize('name', list(ADAPTFORMER_HOSTS))
def test_an_adaptformer_host_is_refused_with_what_to_use(name):
    backbone, block = ADAPTFORMER_HOSTS[name]
    with pytest.raises(ConfigError) as e:
        VPT(backbone=backbone, num_prompts=2)
    assert str(e.value) == (
        f'model.backbone.backbone.type: VPT cannot prompt {name}: it is an '
        f'AdaptFormer host, not a VPT one (its {block} blocks are not the '
        'ViT token sequence VPT inserts prompts into). VPT prompts: '
        f"{VPT_HOSTS}. Use type='AdaptFormer' for it.")


def test_a_backbone_of_no_host_names_the_hosts_vpt_prompts():
    with pytest.raises(ConfigError) as e:
        VPT(backbone=dict(type='mmpretrain.ResNet', depth=18), num_prompts=2)
    message = str(e.value)
    assert message.startswith('model.backbone.backbone.type: VPT cannot '
                              'prompt ResNet: it has no block of a supported '
                              'type')
    assert 'BasicBlock (mmpretrain.models.backbones.resnet.BasicBlock)' \
        in message
    assert message.endswith(f'VPT prompts: {VPT_HOSTS}.')
    assert 'Swin' not in message
