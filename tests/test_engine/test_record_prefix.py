# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint whose state dict keys carry DDP's ``module.``
prefix holds what its record lists: :func:`check_record_held` ignores the
prefix, as MMEngine's load does, and still refuses a file that lacks a
listed tensor. Guards of kept behaviour (mutation audit: they fail when
the prefix is not stripped)."""
import copy
import os.path as osp

import pytest
from adapter_only_files import built_with_adapter_only
from repo_paths import CONFIGS

from mmadaptformer.engine import (ADAPTER_META_KEY, EXPECTED_CHECKPOINT,
                                  checkpoint_meta)
from mmadaptformer.utils.state_dict_check import StateDictMismatchError


@pytest.fixture(scope='module')
def prefixed():
    """The tiny AdaptFormer model's adapter-only checkpoint, its keys
    under ``module.``."""
    _, _, checkpoint = built_with_adapter_only(
        osp.join(CONFIGS, 'tiny', 'tiny_adaptformer_image.py'))
    checkpoint['state_dict'] = {
        f'module.{k}': v
        for k, v in checkpoint['state_dict'].items()
    }
    return checkpoint


def test_a_module_prefix_holds_the_records_tensors(prefixed):
    meta = checkpoint_meta(
        copy.deepcopy(prefixed), 'ddp.pth', EXPECTED_CHECKPOINT)
    assert ADAPTER_META_KEY in meta


def test_a_prefixed_file_without_a_listed_tensor_is_refused(prefixed):
    checkpoint = copy.deepcopy(prefixed)
    key = next(k for k in checkpoint['state_dict'] if 'adaptmlp' in k)
    del checkpoint['state_dict'][key]
    with pytest.raises(
            StateDictMismatchError,
            match='ddp.pth: its state '
            'dict lacks 1 of the'):
        checkpoint_meta(checkpoint, 'ddp.pth', EXPECTED_CHECKPOINT)
