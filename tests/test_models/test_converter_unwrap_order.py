# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``unwrap_checkpoint`` looks for the state dict under ``'state_dict'``,
``'model'`` and ``'module'``, in this order, as its docstring says.

Guard of kept behaviour (mutation audit of 2026-12-05): the code
passes; the plausible bug named above fails it."""
import pytest
import torch

from mmadaptformer.models.converters import unwrap_checkpoint


@pytest.mark.parametrize(
    'wrappers, where',
    [(('state_dict', 'model', 'module'), "checkpoint['state_dict']"),
     (('model', 'module'), "checkpoint['model']"),
     (('module', ), "checkpoint['module']")])
def test_the_first_wrapper_in_the_documented_order_wins(wrappers, where):
    """A checkpoint with several wrappers (e.g. an MMEngine
    ``'state_dict'`` beside a copied ``'model'``) is read from the first of
    ``'state_dict'``, ``'model'``, ``'module'``; the others are ignored."""
    checkpoint = {
        name: {
            'w': torch.full((2, ), float(i))
        }
        for i, name in enumerate(reversed(wrappers))
    }
    expected = checkpoint[wrappers[0]]['w']
    state_dict, found = unwrap_checkpoint(checkpoint)
    assert found == where
    assert list(state_dict) == ['w']
    assert torch.equal(state_dict['w'], expected)
