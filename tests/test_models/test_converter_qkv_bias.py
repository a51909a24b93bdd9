# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A fused ``qkv.bias`` built from separate q and v biases: the key part
is zeros, the q and v parts are the checkpoint's, in q, k, v order.

Guard of kept behaviour (mutation audit of 2026-12-05): the code
passes; the plausible bug named above fails it."""
import torch
from test_converters import (DEPTH, DIMS, IMAGE, _inputs, convert_state_dict,
                             image_classifier, official_image,
                             reference_image_logits)
from torch.testing import assert_close


def test_image_qkv_bias_without_key_bias_has_zero_key_part():
    """An image checkpoint whose attention has q and v biases but no key
    bias (BEiT/VideoMAE style) converts to a fused ``qkv.bias`` whose key
    third is zeros, as the official code concatenates, not a copy of
    another bias; the logits are the source model's."""
    sd = official_image()
    for i in range(DEPTH):
        del sd[f'blocks.{i}.attn.k_proj.bias']
    result = convert_state_dict(sd)
    assert not result.unmapped
    out = result.state_dict
    for i in range(DEPTH):
        bias = out[f'backbone.layers.{i}.attn.qkv.bias']
        assert bias.shape == (3 * DIMS, )
        assert_close(bias[:DIMS], sd[f'blocks.{i}.attn.q_proj.bias'])
        assert torch.equal(bias[DIMS:2 * DIMS], torch.zeros(DIMS))
        assert_close(bias[2 * DIMS:], sd[f'blocks.{i}.attn.v_proj.bias'])

    model = image_classifier(out_type='cls_token', final_norm=True)
    model.load_state_dict(out, strict=True)
    reference = dict(sd)
    for i in range(DEPTH):
        reference[f'blocks.{i}.attn.k_proj.bias'] = torch.zeros(DIMS)
    x = _inputs(IMAGE)
    with torch.no_grad():
        assert_close(
            model(x, mode='tensor'),
            reference_image_logits(reference, x),
            atol=1e-5,
            rtol=1e-5)
