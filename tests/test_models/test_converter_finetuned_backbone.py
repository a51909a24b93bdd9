# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A fine-tuned VideoMAE checkpoint (``fc_norm`` and a classifier ``head``,
no adapters) converted with ``source_type='videomae'`` for a backbone:
its trained ``fc_norm`` is kept, not replaced by (or clashing with) the
fresh identity one a pre-training checkpoint gets.

Guard of kept behaviour (mutation audit of 2026-12-05): the code
passes; the plausible bug named above fails it."""
from collections import OrderedDict

import torch
from test_converters import (DIMS, FRAMES, IMG, _Weights, build,
                             convert_state_dict, strip_backbone,
                             video_backbone_cfg, videomae_pretrain)


def test_a_fine_tuned_videomae_backbone_keeps_its_fc_norm():
    encoder = videomae_pretrain()
    sd = OrderedDict(
        (k[len('encoder.'):], v) for k, v in encoder.items()
        if k.startswith('encoder.') and not k.startswith('encoder.norm.'))
    w = _Weights(9)
    w.ln(sd, 'fc_norm')
    w.linear(sd, 'head', 5, DIMS)
    result = convert_state_dict(
        sd, source_type='videomae', img_size=IMG, num_frames=FRAMES)
    assert not result.unmapped
    out = result.state_dict
    assert out['backbone.fc_norm.weight'] is sd['fc_norm.weight']
    assert out['backbone.fc_norm.bias'] is sd['fc_norm.bias']
    assert not any('fc_norm' in key for key in result.added)
    assert set(result.dropped) == {'head.weight', 'head.bias'}
    backbone = build('mmaction', video_backbone_cfg())
    backbone.load_state_dict(strip_backbone(out), strict=True)
    assert torch.equal(backbone.fc_norm.weight.detach(), sd['fc_norm.weight'])
