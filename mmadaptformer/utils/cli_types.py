# Copyright (c) mmadaptformer contributors. All rights reserved.
"""argparse types and checks the tools share (the ``--cfg-options`` action
is :class:`~.cfg_options.ConfigOptions`)."""
import argparse

from .device_check import device_problem

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
    ``parser.error`` (exit status 2), before any model loads (PyTorch would
    fail on the first tensor moved there).

    The refusal is :func:`~.device_check.device_problem`'s, as the APIs
    make it: a device this machine lacks is answered with the devices it
    has, so that the device offered is not refused in turn.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        device (str): The device given (``cpu``, ``cuda``, ``cuda:1``;
            another type PyTorch knows, such as ``mps``, where this
            machine has one).
    """
    problem = device_problem(device, advice='give')
    if problem is not None:
        parser.error(f'--device {device}: {problem}')
