# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint that holds one tensor in two layouts (the official
block-level ``fc1`` and timm's ``mlp.fc1``) is refused, naming both keys
and the target; neither silently overwrites the other.

Guard of kept behaviour (mutation audit of 2026-12-05): the code
passes; the plausible bug named above fails it."""
import re

import pytest
from test_converters import ConversionError, convert_state_dict, official_image


@pytest.mark.parametrize('suffix', ['weight', 'bias'])
def test_one_tensor_in_two_layouts_is_refused(suffix):
    sd = official_image()
    sd[f'blocks.0.mlp.fc1.{suffix}'] = sd[f'blocks.0.fc1.{suffix}'] + 1
    with pytest.raises(ConversionError) as error:
        convert_state_dict(sd)
    assert re.search(
        f"'blocks.0.(mlp.)?fc1.{suffix}' and 'blocks.0.(mlp.)?fc1.{suffix}' "
        f"map to 'backbone.layers.0.ffn.layers.0.0.{suffix}'",
        str(error.value)), str(error.value)
    assert 'mixes two layouts' in str(error.value)
