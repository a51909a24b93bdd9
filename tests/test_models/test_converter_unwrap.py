# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What ``unwrap_checkpoint`` says of a checkpoint without weights.

An empty state dict (``{'model': {}}``, or a bare ``{}``) was refused as
"it holds non-tensor entries []", which names nothing; it now says that it
is empty, and where.
"""
import pytest
import torch

from mmadaptformer.models.converters import ConversionError, unwrap_checkpoint


@pytest.mark.parametrize(
    'checkpoint, where', [(dict(model={}, epoch=89), "checkpoint['model']"),
                          ({}, 'checkpoint')],
    ids=['wrapped', 'bare'])
def test_an_empty_state_dict_is_named_as_empty(checkpoint, where):
    with pytest.raises(ConversionError) as error:
        unwrap_checkpoint(checkpoint)
    assert str(error.value).startswith(
        f'{where} is not a state dict: it is empty, with no tensors. '
        'Expected a bare state dict')
    assert 'non-tensor' not in str(error.value)


def test_non_tensor_entries_are_still_named():
    """Guard of kept behaviour: a non-tensor entry is named."""
    with pytest.raises(
            ConversionError, match=r"non-tensor entries \['args'\]"):
        unwrap_checkpoint(dict(model=dict(w=torch.ones(1), args=3)))
