# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``check_adapter_checkpoint`` on a wrapped model: an adapter-only
checkpoint is keyed for the model, a ``DataParallel`` wrapper's keys carry
``module.``."""
import copy

import pytest
import torch
from adapter_only_files import built_with_adapter_only
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG

from mmadaptformer.utils.state_dict_check import StateDictMismatchError


@pytest.fixture(scope='module')
def adapters():
    """A tiny AdaptFormer model and an adapter-only checkpoint of it as
    AdapterHook writes it."""
    model, _, checkpoint = built_with_adapter_only(
        TINY_ADAPTFORMER_VIDEO_CONFIG)
    return model, checkpoint


def test_a_data_parallel_model_is_checked_as_the_model_it_wraps(
        adapters, clean_loggers):
    from mmadaptformer.apis import check_adapter_checkpoint
    model, checkpoint = adapters
    digest = check_adapter_checkpoint(model, checkpoint, 'a.pth')
    assert isinstance(digest, str) and digest
    wrapped = torch.nn.DataParallel(model)
    assert check_adapter_checkpoint(wrapped, checkpoint, 'a.pth') == digest


def test_a_data_parallel_model_still_refuses_adapters_that_do_not_fit(
        adapters, clean_loggers):
    """Unwrapping skips no check, and the error names the keys as the
    checkpoint has them, without the wrapper's ``module.``."""
    from mmadaptformer.apis import check_adapter_checkpoint
    model, checkpoint = adapters
    checkpoint = copy.deepcopy(checkpoint)
    del checkpoint['state_dict']['backbone.blocks.0.adaptmlp.up_proj.bias']
    key = 'backbone.blocks.0.adaptmlp.up_proj.bias'
    checkpoint['meta']['adapter_checkpoint']['saved_keys'].remove(key)
    with pytest.raises(
            StateDictMismatchError,
            match=rf"^a.pth: .*: 1 missing trainable key \['{key}'\]\."):
        check_adapter_checkpoint(
            torch.nn.DataParallel(model), checkpoint, 'a.pth')
