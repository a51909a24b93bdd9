# Copyright (c) mmadaptformer contributors. All rights reserved.
import re

import pytest
import torch

from mmadaptformer.utils.device_check import check_device_arg, device_problem
from mmadaptformer.utils.device_choices import device_choices


def test_devices_this_machine_has_pass():
    assert device_problem('cpu') is None
    assert device_problem(torch.device('cpu')) is None
    if torch.cuda.is_available():
        assert device_problem('cuda:0') is None


@pytest.mark.parametrize(
    'device, problem',
    [('gpu', r'^not a device PyTorch knows \(.*gpu.*\); ' +
      re.escape(device_choices()) + '$'),
     ('meta', '^this machine has no meta device that PyTorch can use; ' +
      re.escape(device_choices()) + '$'),
     ('cuda:99', r'^this machine has (no CUDA device that PyTorch can use; ' +
      re.escape(device_choices()) +
      r'|\d+ CUDA device\(s\), cuda:0 to cuda:\d+)$')])
def test_devices_this_machine_lacks_are_named(device, problem):
    assert device_problem(device) is not None
    assert re.match(problem, device_problem(device)), device_problem(device)
    with pytest.raises(
            ValueError, match=rf"^init_model\(device='{device}'\): "):
        check_device_arg(device, 'init_model')
