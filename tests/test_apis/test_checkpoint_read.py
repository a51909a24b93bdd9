# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tests of :mod:`mmadaptformer.apis.checkpoint_read`."""
import re

import pytest
import torch
from helpers import TINY_VIDEO_CONFIG

from mmadaptformer.apis import init_model
from mmadaptformer.apis.checkpoint_read import read_checkpoint


@pytest.mark.parametrize('content, found', [
    ([torch.zeros(2)], 'a value of type list'),
    (torch.zeros(2), 'a value of type Tensor'),
    ({
        'meta': {},
        'state_dict': [torch.zeros(2)]
    }, "a dict with the top-level keys ['meta', 'state_dict'], whose "
     "'state_dict' is a value of type list"),
    ({
        'state_dict': None
    }, "a dict with the top-level keys ['state_dict'], whose 'state_dict' "
     'is a value of type NoneType'),
])
def test_a_checkpoint_without_a_state_dict_is_refused_naming_what_it_holds(
        tmp_path, content, found):
    path = str(tmp_path / 'odd.pth')
    torch.save(content, path)
    message = (f'No state_dict found in checkpoint file {path}: it holds '
               f'{found}; expected a dict of tensors, or a dict with one '
               "under 'state_dict'.")
    with pytest.raises(RuntimeError, match=f'^{re.escape(message)}$'):
        read_checkpoint(path)
    # The path every model load takes.
    with pytest.raises(RuntimeError, match=f'^{re.escape(message)}$'):
        init_model(TINY_VIDEO_CONFIG, path)


def test_a_long_dict_names_its_first_ten_keys_and_their_count(tmp_path):
    path = str(tmp_path / 'odd.pth')
    torch.save({'state_dict': 1, **{f'k{i}': i for i in range(11)}}, path)
    keys = ', '.join(["'state_dict'"] + [f"'k{i}'" for i in range(9)])
    with pytest.raises(
            RuntimeError,
            match=re.escape(f'it holds a dict with the top-level keys '
                            f"[{keys}, ... (12 in all)], whose 'state_dict' "
                            'is a value of type int;')):
        read_checkpoint(path)
