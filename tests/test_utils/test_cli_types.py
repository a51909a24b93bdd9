# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``check_device``: the tools' ``--device`` refusal says what
``device_problem`` (the APIs' ``device=`` check) says, from one place;
it repeated that logic, in other words ("--device gpu: <PyTorch's
message>; give cpu or cuda")."""
import argparse

import pytest
import torch

from mmadaptformer.utils.cli_types import check_device
from mmadaptformer.utils.device_check import device_problem
from mmadaptformer.utils.device_choices import (available_devices,
                                                device_choices)


def _refusal(device, capsys):
    parser = argparse.ArgumentParser(prog='tool.py')
    with pytest.raises(SystemExit) as exit_:
        check_device(parser, device)
    assert exit_.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_a_device_this_machine_has_passes():
    parser = argparse.ArgumentParser(prog='tool.py')
    check_device(parser, 'cpu')
    if torch.cuda.is_available():
        check_device(parser, 'cuda:0')


@pytest.mark.parametrize('device', ['gpu', 'meta', 'cuda:99', 'cuda:x'])
def test_the_refusal_is_device_problems(device, capsys):
    """Refused where ``device_problem`` refuses, in its words; a device
    type this machine lacks is answered with the devices it has."""
    refusal = _refusal(device, capsys)
    assert refusal == f'tool.py: error: --device {device}: ' + \
        device_problem(device, advice='give')
    if device != 'cuda:99' or 'cuda' not in available_devices():
        assert refusal.endswith('; ' + device_choices('give'))


def test_refusal_lines():
    assert device_problem(
        'gpu', advice='give').startswith('not a device PyTorch knows (')
    assert device_problem(
        'gpu', advice='give').endswith('); ' + device_choices('give'))
    assert device_problem(
        'meta', advice='give') == (
            'this machine has no meta device that PyTorch can use; ' +
            device_choices('give'))
    if not torch.cuda.is_available():
        assert device_problem(
            'cuda', advice='give'
        ) == ('this machine has no CUDA device that PyTorch can use; give cpu')
