# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Keep mmaction2's ``ColorJitter`` working under NumPy 2.

mmaction2 1.2.0's ``ColorJitter.adjust_hue`` shifts the OpenCV hue (0 to
179) of a ``uint8`` HSV image by ``offset = int(factor * 255)`` with
``(hsv[..., 0] + offset) % 180``. NumPy 1 widened a ``uint8`` array plus a
negative Python int to ``int16``, so the sum was taken in a signed type
and ``% 180`` wrapped it. NumPy 2 (NEP 50) keeps the array's ``uint8`` and
refuses the int: whenever the hue draw is negative, about half the calls
with the default ``hue=0.1``, the transform raised ``OverflowError: Python
integer -5 out of bounds for uint8``, and a training pipeline with it
(mmaction2's TPN recipes, users' own) stopped at a random batch.

:func:`fix_color_jitter_hue` replaces ``adjust_hue``, only where the
installed one raises that error, with :func:`adjust_hue_in_int`: the same
steps, the sum taken in ``int16`` (NumPy 1's type for a negative offset),
wrapped by ``% 180`` and cast back to ``uint8``. For a positive offset
NumPy 1 summed in ``uint8``, which wraps at 256 before ``% 180`` once the
sum passes 255 (``hue`` above 0.3, never with the default 0.1); in
``int16`` such a hue wraps at 180 as every other does.
"""
import cv2
import numpy as np

__all__ = ['adjust_hue_in_int', 'hue_sum_overflows', 'fix_color_jitter_hue']

#: A hue factor whose offset (``int(-0.02 * 255) == -5``) is negative.
_NEGATIVE_PROBE_FACTOR = -0.02


def adjust_hue_in_int(img: np.ndarray, factor: float) -> np.ndarray:
    """mmaction2's ``ColorJitter.adjust_hue`` with the hue sum in ``int16``.

    Args:
        img (np.ndarray): An RGB image, ``(H, W, 3)``; clipped to 0 to 255
            and cast to ``uint8`` first, as mmaction2 does.
        factor (float): The hue shift, a fraction of 255 (``ColorJitter``
            draws it from ``[-0.5, 0.5]`` at most).

    Returns:
        np.ndarray: The image, ``float32``, its OpenCV hue ``h`` replaced
        by ``(h + int(factor * 255)) % 180``.
    """
    img = np.clip(img, 0, 255).astype(np.uint8)
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    offset = int(factor * 255)
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + offset) % 180
    img = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return img.astype(np.float32)


def hue_sum_overflows(adjust_hue) -> bool:
    """Whether ``adjust_hue(img, factor)`` raises NumPy 2's
    ``OverflowError`` for a negative hue offset (the behaviour this module
    fixes), tried on a one-pixel image.

    Any other error it raises propagates.
    """
    try:
        adjust_hue(np.zeros((1, 1, 3), np.float32), _NEGATIVE_PROBE_FACTOR)
    except OverflowError:
        return True
    return False


def fix_color_jitter_hue() -> bool:
    """Replace ``mmaction.datasets.transforms.ColorJitter.adjust_hue``
    with :func:`adjust_hue_in_int` where the installed one overflows on a
    negative offset; a fixed mmaction2, or NumPy 1, is left alone.
    Idempotent.

    Returns:
        bool: Whether it was replaced now.
    """
    from mmaction.datasets.transforms import ColorJitter
    if ColorJitter.adjust_hue is adjust_hue_in_int or \
            not hue_sum_overflows(ColorJitter.adjust_hue):
        return False
    ColorJitter.adjust_hue = staticmethod(adjust_hue_in_int)
    return True
