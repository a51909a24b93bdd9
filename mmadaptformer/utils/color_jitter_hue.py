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

mmcv 2.1.0's ``adjust_hue`` (behind mmpretrain's ``ColorJitter``, with
``hue=0.1`` in its MoCo v2/v3, BYOL and ``hue=0.2`` in SimCLR and SwAV
recipes) has the same gap: ``np.uint8(hue_factor * 255)`` raises
``OverflowError: Python integer -25 out of bounds for uint8`` for a
negative factor under NumPy 2, where NumPy 1 cast it to ``uint8``, and the
``uint8`` sum wrapped the 0 to 255 hue of ``COLOR_BGR2HSV_FULL`` (or PIL's
HSV). :func:`fix_mmcv_adjust_hue` replaces it, under its three names,
where it raises that, with :func:`mmcv_adjust_hue_in_int`: the same
function, the shift cast as torchvision casts it
(``np.int32(hue_factor * 255).astype(np.uint8)``).
"""
import importlib
from typing import Optional

import cv2
import numpy as np
from PIL import Image

__all__ = [
    'adjust_hue_in_int', 'hue_sum_overflows', 'fix_color_jitter_hue',
    'mmcv_adjust_hue_in_int', 'fix_mmcv_adjust_hue'
]

#: The modules that hold mmcv's ``adjust_hue`` under that name.
_MMCV_MODULES = ('mmcv.image.photometric', 'mmcv.image', 'mmcv')

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


def mmcv_adjust_hue_in_int(img: np.ndarray,
                           hue_factor: float,
                           backend: Optional[str] = None) -> np.ndarray:
    """mmcv 2.1.0's ``adjust_hue``, its hue shift cast to ``uint8``
    through ``int32`` (torchvision's way; NumPy 2 refuses a negative one
    given to ``np.uint8``), so that the ``uint8`` sum wraps the hue.

    Args:
        img (np.ndarray): A BGR image.
        hue_factor (float): The hue shift, in ``[-0.5, 0.5]``.
        backend (str, optional): ``'cv2'`` or ``'pillow'``. Defaults to
            None: ``mmcv.image.photometric.imread_backend``, as mmcv's.

    Returns:
        np.ndarray: The hue adjusted image, of ``img``'s dtype.
    """
    import mmcv.image.photometric as photometric
    if backend is None:
        backend = photometric.imread_backend
    if backend not in ['cv2', 'pillow']:
        raise ValueError(f'backend: {backend} is not supported.'
                         f"Supported backends are 'cv2', 'pillow'")
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f'hue_factor:{hue_factor} is not in [-0.5, 0.5].')
    if not (isinstance(img, np.ndarray) and (img.ndim in {2, 3})):
        raise TypeError('img should be ndarray with dim=[2 or 3].')
    shift = np.int32(hue_factor * 255).astype(np.uint8)
    if backend == 'pillow':
        assert img.dtype == np.uint8, 'Pillow backend only support uint8 type'
        pil_image = Image.fromarray(img[..., ::-1], mode='RGB')
        input_mode = pil_image.mode
        if input_mode in {'L', '1', 'I', 'F'}:
            return pil_image
        h, s, v = pil_image.convert('HSV').split()
        np_h = np.array(h, dtype=np.uint8)
        with np.errstate(over='ignore'):
            np_h += shift
        h = Image.fromarray(np_h, 'L')
        pil_image = Image.merge('HSV', (h, s, v)).convert(input_mode)
        return np.array(pil_image, dtype=img.dtype)[..., ::-1]
    dtype = img.dtype
    img = img.astype(np.uint8)
    hsv_img = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)
    h, s, v = cv2.split(hsv_img)
    h = h.astype(np.uint8)
    with np.errstate(over='ignore'):
        h += shift
    hsv_img = cv2.merge([h, s, v])
    return cv2.cvtColor(hsv_img, cv2.COLOR_HSV2BGR_FULL).astype(dtype)


def fix_mmcv_adjust_hue() -> bool:
    """Bind ``mmcv.adjust_hue`` (in ``mmcv``, ``mmcv.image`` and
    ``mmcv.image.photometric``) to :func:`mmcv_adjust_hue_in_int` where
    mmcv's raises ``OverflowError`` for a negative factor; a fixed mmcv,
    or NumPy 1, is left alone. Idempotent.

    Returns:
        bool: Whether it was replaced now.
    """
    modules = [importlib.import_module(name) for name in _MMCV_MODULES]
    installed = modules[0].adjust_hue
    if installed is mmcv_adjust_hue_in_int or not hue_sum_overflows(
            lambda img, factor: installed(img.astype(np.uint8), factor)):
        return False
    for module in modules:
        if module.adjust_hue is installed:
            module.adjust_hue = mmcv_adjust_hue_in_int
    return True
