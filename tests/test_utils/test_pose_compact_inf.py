# Copyright (c) mmadaptformer contributors. All rights reserved.
"""mmaction2's ``PoseCompact`` and ``MMCompact`` run under NumPy 2
(``utils/pose_compact_inf.py``): each call raised ``AttributeError:
`np.Inf` was removed in the NumPy 2.0 release`` before, so the skeleton
recipes stopped at their first sample."""
import pickle

import numpy as np
import pytest
from mmaction.datasets import PoseDataset
from mmaction.datasets.transforms import MMCompact, PoseCompact
from mmengine.config import Config
from tool_runners import run_fresh_python

from mmadaptformer.utils.pose_compact_inf import (compact_box,
                                                  fix_pose_compact,
                                                  mm_compact_get_box,
                                                  pose_compact_transform)

POSEC3D_CONFIG = ('mmaction::skeleton/posec3d/slowonly_r50_8xb16-u48-240e_'
                  'ntu60-xsub-keypoint.py')

#: A 100 by 80 image whose joints span x 20 to 60 and y 10 to 40: with the
#: recipes' padding 0.25 and hw_ratio 1, the box is 50 by 50 around
#: (40, 25), i.e. x 15 to 65 and y 0 to 50.
IMG_SHAPE, BOX = (80, 100), (15, 0, 65, 50)


def _keypoints(frames: int = 6) -> np.ndarray:
    """``(1, frames, 17, 2)`` joints spanning ``x`` 20 to 60 and ``y`` 10
    to 40, with a missing joint (0, 0) in each frame."""
    rng = np.random.RandomState(0)
    kp = np.stack([
        rng.uniform(20, 60, (1, frames, 17)),
        rng.uniform(10, 40, (1, frames, 17))
    ], -1).astype(np.float32)
    kp[:, :, 0] = [20, 10]
    kp[:, :, 1] = [60, 40]
    kp[:, :, 2] = 0
    return kp


def test_pose_compact_crops_to_the_padded_square_box():
    kp = _keypoints()
    out = PoseCompact(
        hw_ratio=1., allow_imgpad=True).transform(
            dict(keypoint=kp.copy(), img_shape=IMG_SHAPE))
    assert out['img_shape'] == (50, 50)
    np.testing.assert_allclose(out['crop_quadruple'],
                               (0.15, 0.0, 0.5, 50 / 80))
    expected = kp - [15, 0]
    expected[:, :, 2] = 0  # a missing joint stays missing
    np.testing.assert_allclose(out['keypoint'], expected)


def test_a_box_below_the_threshold_is_left_alone():
    """No joint at all gives an infinitely small box (``initial=inf``):
    the results are unchanged, and MMCompact keeps the whole image."""
    kp = np.zeros((1, 2, 17, 2), np.float32)
    out = PoseCompact().transform(dict(keypoint=kp, img_shape=IMG_SHAPE))
    assert out['img_shape'] == IMG_SHAPE and 'crop_quadruple' not in out
    assert MMCompact()._get_box(kp, IMG_SHAPE) == (0, 0, 100, 80)
    assert compact_box(kp[..., 0], kp[..., 1], IMG_SHAPE, 0.25, 10, None,
                       True) is None


@pytest.mark.parametrize('allow_imgpad', [True, False])
def test_mm_compact_box_and_crop(allow_imgpad):
    """The box lies inside the image, so either way it is the same."""
    kp = _keypoints()
    assert MMCompact(allow_imgpad=allow_imgpad)._get_box(kp, IMG_SHAPE) == BOX
    frames = [np.full(IMG_SHAPE + (3, ), i, np.uint8) for i in range(6)]
    out = MMCompact(allow_imgpad=allow_imgpad).transform(
        dict(keypoint=kp.copy(), imgs=frames, img_shape=IMG_SHAPE))
    assert out['img_shape'] == (50, 50)
    assert [img.shape for img in out['imgs']] == [(50, 50, 3)] * 6
    np.testing.assert_allclose(out['keypoint'][0, :, 1], [[45, 40]] * 6)


def test_the_posec3d_pipeline_reads_a_real_annotation_file(tmp_path):
    """The NTU60 PoseC3D recipe's validation pipeline (``PoseCompact(
    hw_ratio=1., allow_imgpad=True)``) through a real ``PoseDataset``."""
    ann_file = tmp_path / 'ntu60_2d.pkl'
    with open(ann_file, 'wb') as file:
        pickle.dump([
            dict(
                frame_dir='S001C001P001R001A001',
                label=3,
                img_shape=IMG_SHAPE,
                original_shape=IMG_SHAPE,
                total_frames=6,
                keypoint=_keypoints(),
                keypoint_score=np.ones((1, 6, 17), np.float32))
        ], file)
    config = tmp_path / 'posec3d.py'
    config.write_text(f'_base_ = [{POSEC3D_CONFIG!r}]\n')
    cfg = Config.fromfile(str(config))
    assert dict(
        type='PoseCompact', hw_ratio=1., allow_imgpad=True,
        _scope_='mmaction') in cfg.val_pipeline
    dataset = PoseDataset(str(ann_file), pipeline=cfg.val_pipeline)
    packed = dataset[0]
    # 48 sampled frames of 17 joint heatmaps, cropped to 64 by 64.
    assert tuple(packed['inputs'].shape) == (1, 17, 48, 64, 64)
    assert packed['data_samples'].gt_label.tolist() == [3]


def test_only_raising_methods_are_replaced(monkeypatch):
    """Fixed upstream methods are left alone; the fix is idempotent."""
    assert PoseCompact.transform is pose_compact_transform
    assert MMCompact._get_box is mm_compact_get_box
    assert fix_pose_compact() is False

    def fixed_transform(self, results):
        return results

    def fixed_get_box(self, keypoint, img_shape):
        return 0, 0, img_shape[1], img_shape[0]

    monkeypatch.setattr(PoseCompact, 'transform', fixed_transform)
    monkeypatch.setattr(MMCompact, '_get_box', fixed_get_box)
    assert fix_pose_compact() is False
    assert PoseCompact.transform is fixed_transform
    assert MMCompact._get_box is fixed_get_box


def test_mmaction2s_own_methods_raise_and_import_replaces_them():
    """In a fresh process: mmaction2's raise NumPy 2's error before
    ``import mmadaptformer`` and are replaced by it (kept under NumPy 1,
    where they run and are left)."""
    result = run_fresh_python("""
        import numpy as np
        from mmaction.datasets.transforms import MMCompact, PoseCompact
        kp = np.zeros((1, 1, 1, 2), np.float32)
        for name, call in (
                ('PoseCompact', lambda: PoseCompact().transform(
                    dict(keypoint=kp, img_shape=(2, 2)))),
                ('MMCompact', lambda: MMCompact()._get_box(kp, (2, 2)))):
            try:
                call()
            except AttributeError as error:
                print(name, 'before:', str(error).split('.')[0])
            else:
                print(name, 'before: no error')
        import mmadaptformer
        print('after:', PoseCompact.transform.__name__,
              MMCompact._get_box.__name__, MMCompact()._get_box(kp, (2, 2)))
    """)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    if np.lib.NumpyVersion(np.__version__) >= '2.0.0':
        assert lines == [
            'PoseCompact before: `np', 'MMCompact before: `np',
            'after: pose_compact_transform mm_compact_get_box (0, 0, 2, 2)'
        ], result.stdout
    else:
        assert lines == [
            'PoseCompact before: no error', 'MMCompact before: no error',
            'after: transform _get_box (0, 0, 2, 2)'
        ], result.stdout
