# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Whether this machine has a device, asked before a model is loaded onto
it: PyTorch only says so at the first tensor moved there, after the model
and its checkpoints were read, and in its own words ("Found no NVIDIA
driver", "invalid device ordinal")."""
from typing import Optional, Union

import torch

from .device_choices import device_choices

__all__ = ['device_problem', 'check_device_arg', 'device_to_use']


def device_problem(device: Union[str, torch.device],
                   advice: str = 'use') -> Optional[str]:
    """What is wrong with running on ``device`` here, or None.

    Args:
        device (str | torch.device): ``cpu``, ``cuda``, ``cuda:1``, or
            another type PyTorch knows (``mps``, ...); anything else (None,
            a number) is refused.
        advice (str): The verb before the devices to give instead
            (``'give'`` on a command line). Defaults to ``'use'``.

    Returns:
        str | None: Why this machine cannot run there, and the devices it
        has to give instead (:func:`~.device_choices.device_choices`, never
        one that would be refused in turn); None if it can.
    """
    if not isinstance(device, (str, torch.device)):
        # A number (None is picked for by device_to_use): torch's own
        # refusal is many lines long.
        return (f'a device is a str such as \'cpu\' or \'cuda:0\', or a '
                f'torch.device, not {type(device).__name__}; '
                f'{device_choices(advice)}')
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ''
        return (f'not a device PyTorch knows ({first}); '
                f'{device_choices(advice)}')
    if parsed.type == 'cuda':
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            return ('this machine has no CUDA device that PyTorch can use; '
                    f'{device_choices(advice)}')
        if parsed.index is not None and parsed.index >= count:
            return (f'this machine has {count} CUDA device(s), cuda:0 to '
                    f'cuda:{count - 1}')
    elif parsed.type != 'cpu':
        # torch.mps, torch.xpu, ... say whether this machine has one; a
        # type without such a module (meta) holds no weights to run.
        backend = getattr(torch, parsed.type, None)
        available = getattr(backend, 'is_available', None)
        if available is None or not available():
            return (f'this machine has no {parsed.type} device that PyTorch '
                    f'can use; {device_choices(advice)}')
    return None


def check_device_arg(device: Union[str, torch.device], owner: str) -> None:
    """Refuse a ``device=`` argument this machine cannot run on.

    Args:
        device (str | torch.device): The argument.
        owner (str): Who was given it, for the message (``'init_model'``).

    Raises:
        ValueError: Naming the argument, its value and why.
    """
    problem = device_problem(device)
    if problem is not None:
        shown = str(device) if isinstance(device, torch.device) else device
        raise ValueError(f'{owner}(device={shown!r}): {problem}.')


def device_to_use(device: Optional[Union[str, torch.device]],
                  owner: str) -> Union[str, torch.device]:
    """The device an API was given, checked by :func:`check_device_arg`;
    for ``None`` the one MMEngine's inferencers pick
    (``mmengine.device.get_device()``: ``'cuda'`` where PyTorch sees a GPU,
    else ``'cpu'``, or another accelerator MMEngine knows).

    Args:
        device (str | torch.device | None): The argument.
        owner (str): Who was given it, for the message (``'init_model'``).

    Returns:
        str | torch.device: ``device``, or the picked device for None.

    Raises:
        ValueError: Naming the argument, its value and why.
    """
    if device is None:
        from mmengine.device import get_device
        device = get_device()
    check_device_arg(device, owner)
    return device
