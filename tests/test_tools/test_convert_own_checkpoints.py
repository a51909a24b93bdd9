# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``convert_official.py`` given a checkpoint this package wrote: an
adapter-only ``epoch_N.pth`` of tools/train.py, or a full one of
merge_adapters.py.

Both carry a record that is no tensor (``backbone.frozen_host_fingerprints``)
and were refused as "checkpoint['state_dict'] is not a state dict: it holds
non-tensor entries [...]. Expected a bare state dict or one wrapped as
...", as if the file were damaged. Now the refusal says what the file is
and that it needs no conversion.
"""
import pytest
import torch
from adapter_only_files import built_with_adapter_only
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.models.converters import ConversionError, unwrap_checkpoint


def _adapter_only():
    return built_with_adapter_only(TINY_ADAPTFORMER_IMAGE_CONFIG)[2]


def _merged():
    """A full checkpoint as merge_adapters.py writes it: the model's state
    dict and the record of the settings its adapters trained with."""
    from mmadaptformer.models.backbones.trained_host import SETTINGS_FORMAT
    model = built_with_adapter_only(TINY_ADAPTFORMER_IMAGE_CONFIG)[0]
    state = dict(model.state_dict())
    state['backbone.frozen_host_fingerprints'] = dict(
        format=SETTINGS_FORMAT, settings={})
    return dict(state_dict=state, meta=dict(merged_from='epoch_1.pth'))


@pytest.mark.parametrize(
    'make, what', [(_adapter_only, 'adapter-only checkpoint'),
                   (_merged, 'full checkpoint')],
    ids=['adapter-only', 'merged'])
def test_a_checkpoint_of_this_package_needs_no_conversion(make, what):
    checkpoint = make()
    assert not torch.is_tensor(
        checkpoint['state_dict']['backbone.frozen_host_fingerprints'])
    with pytest.raises(ConversionError) as error:
        unwrap_checkpoint(checkpoint)
    message = str(error.value)
    assert 'needs no conversion' in message, message
    assert what in message, message
    assert "'backbone.frozen_host_fingerprints'" in message, message
    assert 'is not a state dict' not in message, message
