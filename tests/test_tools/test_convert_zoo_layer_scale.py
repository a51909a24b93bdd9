# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An MMAction2 VideoMAE checkpoint with layer scale (``init_values > 0``)
keeps ``gamma_1``/``gamma_2`` of every block.

Guard of kept behaviour (mutation audit of 2026-12-05): the code
passes; the plausible bug named above fails it."""
import torch
from test_convert_zoo import fresh_vit, zoo_state_dict

import mmadaptformer  # noqa: F401  (mmaction2's models import)
from mmadaptformer.models.converters import convert_state_dict


def test_a_zoo_backbone_with_layer_scale_keeps_its_gammas():
    state = zoo_state_dict(init_values=0.1)
    gammas = [k for k in state if '.gamma_' in k]
    assert gammas, 'the zoo backbone was built without layer scale'
    for key in gammas:  # trained values, not the initial 0.1
        state[key] = state[key] * torch.linspace(0.5, 2, state[key].numel())
    result = convert_state_dict(state, img_size=32, num_frames=4)
    assert not result.unmapped
    for key in gammas:
        assert result.state_dict[key] is state[key], key
    model = fresh_vit(init_values=0.1)
    model.load_state_dict(
        {k[len('backbone.'):]: v
         for k, v in result.state_dict.items()},
        strict=True)
