# Copyright (c) mmadaptformer contributors. All rights reserved.
"""argparse types and checks the tools share (the ``--cfg-options`` action
is :class:`~.cfg_options.ConfigOptions`)."""
import argparse

import torch

__all__ = ['positive_int', 'non_negative_int', 'check_device']


def positive_int(text: str) -> int:
    """An int of at least 1, e.g. ``type=positive_int``."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def non_negative_int(text: str) -> int:
    """An int of at least 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be >= 0, got {value}')
    return value


def check_device(parser: argparse.ArgumentParser, device: str) -> None:
    """Refuse ``--device DEVICE`` if this machine does not have it, with
    ``parser.error``, before any model loads (PyTorch would fail on the
    first tensor moved there).

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        device (str): The device given (``cpu``, ``cuda``, ``cuda:1``;
            another type PyTorch knows, such as ``mps``, where this
            machine has one).
    """
    try:
        parsed = torch.device(device)
    except RuntimeError as e:
        parser.error(f'--device {device}: {e}; give cpu or cuda')
    if parsed.type not in ('cpu', 'cuda'):
        # torch.mps, torch.xpu, ... say whether this machine has one; a
        # type without such a module (meta) holds no weights to run.
        backend = getattr(torch, parsed.type, None)
        available = getattr(backend, 'is_available', None)
        if available is None or not available():
            parser.error(f'--device {device}: this machine has no '
                         f'{parsed.type} device that PyTorch can use; give '
                         '--device cpu or cuda')
    if parsed.type == 'cuda':
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            parser.error(f'--device {device}: this machine has no CUDA '
                         'device that PyTorch can use; give --device cpu')
        if parsed.index is not None and parsed.index >= count:
            parser.error(f'--device {device}: this machine has {count} CUDA '
                         f'device(s), cuda:0 to cuda:{count - 1}')
