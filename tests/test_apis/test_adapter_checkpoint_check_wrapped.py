# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``check_adapter_checkpoint`` on a wrapped model: an adapter-only
checkpoint is keyed for the model, a ``DataParallel`` wrapper's keys carry
``module.``."""
import copy

import pytest
import torch
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG

from mmadaptformer.utils.state_dict_check import StateDictMismatchError


@pytest.fixture(scope='module')
def adapters():
    """A tiny AdaptFormer model and an adapter-only checkpoint of it as
    AdapterHook writes it."""
    from mmengine.config import Config

    from mmadaptformer.engine import (build_model_and_plan,
                                      make_adapter_checkpoint)
    from mmadaptformer.utils.fingerprint import state_fingerprints
    torch.manual_seed(0)
    model, plan = build_model_and_plan(
        Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG))
    frozen = set(plan.frozen_keys)
    fingerprints = state_fingerprints(
        (k, v) for k, v in model.state_dict().items() if k in frozen)
    checkpoint = make_adapter_checkpoint(
        dict(state_dict=model.state_dict(), meta={}),
        plan,
        fingerprints,
        model=model)
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
            match=rf"^a.pth: .*model's adapter keys \['{key}'\]"):
        check_adapter_checkpoint(
            torch.nn.DataParallel(model), checkpoint, 'a.pth')
