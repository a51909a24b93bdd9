# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Keep mmaction2's ``PoseCompact`` and ``MMCompact`` working under NumPy 2.

Both find the tight box around a clip's keypoints with ``np.min(...,
initial=np.Inf)`` (mmaction2 1.2.0's ``pose_transforms.py``, lines 505 to
508 and 1435 to 1438). NumPy 2 removed the ``np.Inf`` alias, so every
call raised ``AttributeError: `np.Inf` was removed in the NumPy 2.0
release. Use `np.inf` instead.``: the skeleton recipes' pipelines
(``PoseCompact`` in every PoseC3D config, ``MMCompact`` in the RGBPoseConv3D
ones) stopped at their first sample.

:func:`fix_pose_compact` replaces, only where the installed ones raise
that, ``PoseCompact.transform`` and ``MMCompact._get_box`` (private, the
one method of it that uses the alias; the transform has no public
extension point) with copies that compute the box with ``np.inf``
(:func:`compact_box`); the rest of each is unchanged.
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    'compact_box', 'pose_compact_transform', 'mm_compact_get_box',
    'raises_without_np_inf', 'fix_pose_compact'
]


def compact_box(kp_x: np.ndarray, kp_y: np.ndarray, img_shape: Tuple[int, int],
                padding: float, threshold: float,
                hw_ratio: Optional[Sequence[float]],
                allow_imgpad: bool) -> Optional[Tuple[int, int, int, int]]:
    """The box mmaction2's ``PoseCompact`` and ``MMCompact`` compact to.

    Args:
        kp_x (np.ndarray): The keypoints' x; 0 means a missing joint.
        kp_y (np.ndarray): The keypoints' y; 0 means a missing joint.
        img_shape (tuple[int, int]): The image's ``(h, w)``.
        padding (float): How much the tight box grows on each side, as a
            fraction of its half size.
        threshold (float): The smallest width and height the tight box
            may have.
        hw_ratio (Sequence[float], optional): The range of height to width
            the box is grown to.
        allow_imgpad (bool): Whether the box may reach outside the image.

    Returns:
        tuple[int, int, int, int] | None: ``(min_x, min_y, max_x, max_y)``,
        or None when the tight box is narrower or lower than
        ``threshold`` (no joint counts as a box of size ``-inf``).
    """
    h, w = img_shape
    min_x = np.min(kp_x[kp_x != 0], initial=np.inf)
    min_y = np.min(kp_y[kp_y != 0], initial=np.inf)
    max_x = np.max(kp_x[kp_x != 0], initial=-np.inf)
    max_y = np.max(kp_y[kp_y != 0], initial=-np.inf)
    if max_x - min_x < threshold or max_y - min_y < threshold:
        return None
    center = ((max_x + min_x) / 2, (max_y + min_y) / 2)
    half_width = (max_x - min_x) / 2 * (1 + padding)
    half_height = (max_y - min_y) / 2 * (1 + padding)
    if hw_ratio is not None:
        half_height = max(hw_ratio[0] * half_width, half_height)
        half_width = max(1 / hw_ratio[1] * half_height, half_width)
    min_x, max_x = center[0] - half_width, center[0] + half_width
    min_y, max_y = center[1] - half_height, center[1] + half_height
    if not allow_imgpad:
        return (int(max(0, min_x)), int(max(0, min_y)), int(min(w, max_x)),
                int(min(h, max_y)))
    return int(min_x), int(min_y), int(max_x), int(max_y)


def pose_compact_transform(self, results: Dict) -> Dict:
    """mmaction2 1.2.0's ``PoseCompact.transform``, its box computed with
    ``np.inf`` (:func:`compact_box`)."""
    img_shape = results['img_shape']
    h, w = img_shape
    kp = results['keypoint']
    # Make NaN zero
    kp[np.isnan(kp)] = 0.
    kp_x = kp[..., 0]
    kp_y = kp[..., 1]
    box = compact_box(kp_x, kp_y, img_shape, self.padding, self.threshold,
                      self.hw_ratio, self.allow_imgpad)
    if box is None:
        return results
    min_x, min_y, max_x, max_y = box
    kp_x[kp_x != 0] -= min_x
    kp_y[kp_y != 0] -= min_y
    results['img_shape'] = (max_y - min_y, max_x - min_x)
    # The crop as (x, y, w, h), fractions of the image, composed with an
    # earlier one (mmaction2's private ``_combine_quadruple``).
    x, y, cw, ch = results.get('crop_quadruple', (0., 0., 1., 1.))
    nx, ny, nw, nh = (min_x / w, min_y / h, (max_x - min_x) / w,
                      (max_y - min_y) / h)
    results['crop_quadruple'] = (x + cw * nx, y + ch * ny, cw * nw, ch * nh)
    return results


def mm_compact_get_box(self, keypoint: np.ndarray,
                       img_shape: Tuple[int, int]) -> Tuple[int, ...]:
    """mmaction2 1.2.0's ``MMCompact._get_box``, computed with ``np.inf``
    (:func:`compact_box`): the whole image, ``(0, 0, w, h)``, where the
    keypoints' box is too small."""
    h, w = img_shape
    kp_x, kp_y = keypoint[..., 0], keypoint[..., 1]
    box = compact_box(kp_x, kp_y, img_shape, self.padding, self.threshold,
                      self.hw_ratio, self.allow_imgpad)
    return (0, 0, w, h) if box is None else box


def raises_without_np_inf(compute) -> bool:
    """Whether ``compute(keypoint, img_shape)`` raises NumPy 2's
    ``AttributeError`` for the removed ``np.Inf``, tried on one missing
    joint of a 2 by 2 image. Any other error propagates."""
    try:
        compute(np.zeros((1, 1, 1, 2), np.float32), (2, 2))
    except AttributeError as error:
        if 'np.Inf' not in str(error):
            raise
        return True
    return False


def fix_pose_compact() -> bool:
    """Replace ``PoseCompact.transform`` with
    :func:`pose_compact_transform` and ``MMCompact._get_box`` with
    :func:`mm_compact_get_box` where the installed ones raise for
    ``np.Inf``; fixed ones, or NumPy 1, are left alone. Idempotent.

    Returns:
        bool: Whether either was replaced now.
    """
    from mmaction.datasets.transforms.pose_transforms import (MMCompact,
                                                              PoseCompact)
    replaced = False
    if PoseCompact.transform is not pose_compact_transform and \
            raises_without_np_inf(lambda keypoint, img_shape: PoseCompact(
            ).transform(dict(keypoint=keypoint, img_shape=img_shape))):
        PoseCompact.transform = pose_compact_transform
        replaced = True
    if MMCompact._get_box is not mm_compact_get_box and \
            raises_without_np_inf(MMCompact()._get_box):
        MMCompact._get_box = mm_compact_get_box
        replaced = True
    return replaced
