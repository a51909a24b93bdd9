# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The devices this machine has, as a refusal offers them instead of the
one given: ``give cpu`` where PyTorch sees no GPU, never a device that the
next try would be refused for."""
from typing import List

import torch

__all__ = ['available_devices', 'device_choices']

#: Device types other than cpu and cuda whose ``torch.<type>`` module says
#: whether this machine has one.
OTHER_TYPES = ('mps', 'xpu', 'mtia')


def available_devices() -> List[str]:
    """The device types PyTorch can use here, ``cpu`` first.

    Returns:
        list[str]: E.g. ``['cpu']``, ``['cpu', 'cuda']``.
    """
    devices = ['cpu']
    if torch.cuda.is_available() and torch.cuda.device_count() > 0:
        devices.append('cuda')
    for name in OTHER_TYPES:
        available = getattr(getattr(torch, name, None), 'is_available', None)
        if available is not None and available():
            devices.append(name)
    return devices


def device_choices(advice: str = 'use') -> str:
    """What to give instead of a device this machine does not have.

    Args:
        advice (str): The verb before the devices (``'give'`` on a command
            line). Defaults to ``'use'``.

    Returns:
        str: E.g. ``'use cpu'``, ``'give cpu or cuda'``, ``'use cpu or
        cuda[:N] (N from 0 to 3)'``, ``'use cpu, cuda or mps'``.
    """
    names = available_devices()
    if 'cuda' in names and torch.cuda.device_count() > 1:
        names[names.index('cuda')] = (
            f'cuda[:N] (N from 0 to {torch.cuda.device_count() - 1})')
    listed = names[0] if len(names) == 1 else \
        ', '.join(names[:-1]) + ' or ' + names[-1]
    return f'{advice} {listed}'
