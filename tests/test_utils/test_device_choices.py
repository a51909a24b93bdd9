# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--device`` refusals offer only devices this machine has: without
CUDA, ``--device mps`` said "give cpu or cuda", and ``--device cuda`` was
then refused with "give cpu"."""
import argparse

import pytest
import torch

from mmadaptformer.utils.cli_types import check_device
from mmadaptformer.utils.device_choices import (available_devices,
                                                device_choices)

no_gpu = pytest.mark.skipif(
    torch.cuda.is_available() or torch.backends.mps.is_available(),
    reason='the exact lines are those of a machine with only a CPU')


def _refusal(device, capsys):
    parser = argparse.ArgumentParser(prog='infer.py')
    with pytest.raises(SystemExit) as exit_:
        check_device(parser, device)
    assert exit_.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@no_gpu
@pytest.mark.parametrize('device, reason', [
    ('mps', 'this machine has no mps device that PyTorch can use'),
    ('meta', 'this machine has no meta device that PyTorch can use'),
    ('cuda', 'this machine has no CUDA device that PyTorch can use'),
    ('cuda:1', 'this machine has no CUDA device that PyTorch can use'),
])
def test_a_cpu_only_machine_offers_cpu_alone(device, reason, capsys):
    assert _refusal(device, capsys) == \
        f'infer.py: error: --device {device}: {reason}; give cpu'


@no_gpu
def test_an_unknown_device_offers_cpu_alone(capsys):
    refusal = _refusal('gpu', capsys)
    assert refusal.startswith(
        'infer.py: error: --device gpu: not a device PyTorch knows (')
    assert refusal.endswith('); give cpu')


@pytest.mark.parametrize('device', ['mps', 'meta', 'gpu', 'cuda:x'])
def test_each_device_offered_is_taken(device, capsys):
    """Whatever this machine has, a refusal offers what it has, and each
    device it offers passes the same check."""
    if device in available_devices():
        pytest.skip(f'this machine has {device}')
    offered = device_choices('give')
    assert _refusal(device, capsys).endswith('; ' + offered)
    parser = argparse.ArgumentParser(prog='infer.py')
    for name in available_devices():
        assert name in offered
        check_device(parser, name)


def test_choices_list_cpu_first():
    """Guard of the phrase's form."""
    assert available_devices()[0] == 'cpu'
    assert device_choices().startswith('use cpu')
    assert device_choices('give').startswith('give cpu')
