# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A device this machine lacks is refused by name when the inferencers are
made, before any file is read: PyTorch said so only at the first tensor
moved there, in its own words, and a MultiTaskRecognizer's first add_task
blamed the task (``TaskLoadError: Task 'a': RuntimeError: ...``)."""
import re

import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, init_model
from mmadaptformer.utils.device_choices import device_choices


def test_the_inferencers_refuse_a_device_by_name(tmp_path):
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(
            ValueError,
            match=r"^ModelInferencer\(device='gpu'\): not a device PyTorch "
            r'knows \(.*\); ' + re.escape(device_choices()) + r'\.$'):
        ModelInferencer(TINY_ADAPTFORMER_VIDEO_CONFIG, missing, device='gpu')
    with pytest.raises(
            ValueError,
            match=r"^init_model\(device='meta'\): this machine has no meta "
            'device'):
        init_model(TINY_ADAPTFORMER_VIDEO_CONFIG, missing, device='meta')
    with pytest.raises(
            ValueError,
            match=r"^MultiTaskRecognizer\(device='cuda:99'\): this machine "
            r'has (no CUDA device|\d+ CUDA device\(s\))'):
        MultiTaskRecognizer(device='cuda:99')
