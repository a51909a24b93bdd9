# Copyright (c) mmadaptformer contributors. All rights reserved.
"""argparse types the tools share."""
import argparse

__all__ = ['positive_int', 'non_negative_int']


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
