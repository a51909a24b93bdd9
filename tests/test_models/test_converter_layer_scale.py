# Copyright (c) mmadaptformer contributors. All rights reserved.
"""VideoMAE blocks with layer scale (``init_values > 0``: ``gamma_1`` and
``gamma_2``) keep both multipliers through the conversion.

Guard of kept behaviour (mutation audit of 2026-12-05): the code
passes; the plausible bug named above fails it."""
import torch
from test_converters import (DEPTH, DIMS, FRAMES, IMG, _Weights, build,
                             convert_state_dict, strip_backbone,
                             video_backbone_cfg, videomae_pretrain)
from torch.testing import assert_close


def test_videomae_layer_scale_is_kept():
    """Both ``gamma_1`` and ``gamma_2`` of every block reach mmaction2's
    ``VisionTransformer(init_values>0)``; none is dropped (a dropped one
    would leave the model's fresh ``init_values`` in its place)."""
    sd = videomae_pretrain()
    w = _Weights(7)
    for i in range(DEPTH):
        for name in ('gamma_1', 'gamma_2'):
            sd[f'encoder.blocks.{i}.{name}'] = 0.5 + w.randn(DIMS, std=0.1)
    result = convert_state_dict(
        sd, final_norm='keep', img_size=IMG, num_frames=FRAMES)
    assert not result.unmapped
    assert not any('gamma' in key for key in result.dropped)
    out = result.state_dict
    for i in range(DEPTH):
        for name in ('gamma_1', 'gamma_2'):
            assert torch.equal(out[f'backbone.blocks.{i}.{name}'],
                               sd[f'encoder.blocks.{i}.{name}'])

    backbone = build(
        'mmaction',
        video_backbone_cfg(use_mean_pooling=False, init_values=0.1))
    backbone.load_state_dict(strip_backbone(out), strict=True)
    for i in range(DEPTH):
        assert_close(backbone.blocks[i].gamma_2.detach(),
                     sd[f'encoder.blocks.{i}.gamma_2'])
