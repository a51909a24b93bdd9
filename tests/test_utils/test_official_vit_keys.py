# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One reading of official ViT key names serves both the converters'
detection (models layer) and the ``--pretrained`` refusal's advice (utils
layer), so the two cannot tell a file's modality differently."""
import pytest
import torch

from mmadaptformer.models.converters import detect_source_type
from mmadaptformer.utils.official_vit_keys import (is_mae_decoder_key,
                                                   official_vit_layout)
from mmadaptformer.utils.pretrained_conversion import vit_source_kind

VIDEO_PATCH = torch.zeros(8, 3, 2, 16, 16)
IMAGE_PATCH = torch.zeros(8, 3, 16, 16)
ADAPTER = 'blocks.0.adaptmlp.down_proj.weight'

CASES = {
    'videomae-pretrain': ({
        'encoder.patch_embed.proj.weight': VIDEO_PATCH
    }, 'video', 'videomae'),
    'video-backbone': ({
        'patch_embed.proj.weight': VIDEO_PATCH
    }, 'video', 'videomae'),
    'video-adaptformer': ({
        'patch_embed.proj.weight': VIDEO_PATCH,
        ADAPTER: torch.zeros(2, 8)
    }, 'video', 'adaptformer-video'),
    'image-backbone': ({
        'patch_embed.proj.weight': IMAGE_PATCH
    }, 'image', 'mae'),
    'image-adaptformer': ({
        'patch_embed.proj.weight': IMAGE_PATCH,
        ADAPTER: torch.zeros(2, 8)
    }, 'image', 'adaptformer-image'),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_detection_and_advice_read_the_same_modality(case):
    weights, modality, source_type = CASES[case]
    layout = official_vit_layout(weights)
    assert layout.modality == modality
    assert layout.adapters == tuple(k for k in weights if 'adaptmlp' in k)
    assert detect_source_type(weights) == source_type
    kind, adapters, evidence = vit_source_kind(weights)
    assert (kind, adapters) == (modality, bool(layout.adapters))
    assert evidence


def test_keys_that_tell_nothing():
    layout = official_vit_layout({'blocks.0.norm1.weight': torch.zeros(8)})
    assert (layout.pretrain, layout.patch_embed, layout.adapters,
            layout.modality) == ((), None, (), None)
    # A 3-D "patch embedding" is no Conv2d or Conv3d weight.
    assert official_vit_layout({
        'patch_embed.proj.weight': torch.zeros(8, 3, 16)
    }).modality is None


def test_mae_decoder_keys():
    assert is_mae_decoder_key('decoder_embed.weight')
    assert is_mae_decoder_key('mask_token')
    assert not is_mae_decoder_key('decoder.blocks.0.norm1.weight')
    assert not is_mae_decoder_key('blocks.0.mask_token')
