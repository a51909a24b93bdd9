# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The identity BatchNorm statistics given to a plain Linear head: mean 0
and variance ``1 - eps``, so ``BNLinearHead``'s BatchNorm (eps 1e-6)
passes the features on unchanged, not scaled by ``1 / sqrt(1 + eps)``.

Guard of kept behaviour (mutation audit of 2026-12-05): the code
passes; the plausible bug named above fails it."""
import torch
from test_converters import (DIMS, FRAMES, IMG, convert_state_dict,
                             official_video, video_classifier)

from mmadaptformer.models.converters.common import HEAD_BN_EPS


def test_plain_linear_head_gets_an_identity_batchnorm():
    sd = official_video(head='linear', seed=5)
    result = convert_state_dict(sd, img_size=IMG, num_frames=FRAMES)
    out = result.state_dict
    assert torch.equal(out['cls_head.bn.running_mean'], torch.zeros(DIMS))
    assert torch.equal(out['cls_head.bn.running_var'],
                       torch.full((DIMS, ), 1 - HEAD_BN_EPS))
    assert out['cls_head.bn.num_batches_tracked'] == 0

    model = video_classifier()
    model.load_state_dict(out, strict=True)
    bn = model.cls_head.bn
    assert bn.eps == HEAD_BN_EPS
    feat = torch.randn(
        64, DIMS, generator=torch.Generator().manual_seed(3)) * 10
    with torch.no_grad():
        relative = ((bn(feat) - feat).abs() / feat.abs()).max().item()
    # Float rounding only (~6e-8); variance 1 would scale by 1 - 5e-7.
    assert relative < 2.5e-7, relative
