# Copyright (c) mmadaptformer contributors. All rights reserved.
"""mmaction2's ``ColorJitter`` shifts the hue under NumPy 2
(``utils/color_jitter_hue.py``; ``UPSTREAM_CHANGES`` 15, the README's
upstream gap 14): a negative hue draw
raised ``OverflowError`` before."""
import cv2
import mmcv
import numpy as np
import pytest
from mmaction.datasets import VideoDataset
from mmaction.datasets.transforms import ColorJitter
from mmengine.config import Config
from mmpretrain.datasets.transforms import ColorJitter as PretrainColorJitter
from PIL import Image
from tool_runners import run_fresh_python

from mmadaptformer.utils.color_jitter_hue import (adjust_hue_in_int,
                                                  fix_color_jitter_hue,
                                                  fix_mmcv_adjust_hue,
                                                  hue_sum_overflows,
                                                  mmcv_adjust_hue_in_int)

#: OpenCV hues (0 to 179) of the test image's pixels: both ends, so that
#: shifts either way wrap.
_HUES = (0, 1, 3, 60, 120, 176, 178, 179)

TPN_CONFIG = ('mmaction::recognition/tpn/tpn-slowonly_imagenet-pretrained-'
              'r50_8xb8-8x8x1-150e_kinetics400-rgb.py')


def _rgb_with_hues() -> np.ndarray:
    """A ``(2, 8, 3)`` RGB image whose OpenCV hues span ``_HUES``."""
    hsv = np.empty((2, len(_HUES), 3), np.uint8)
    hsv[..., 0] = _HUES
    hsv[..., 1] = 255
    hsv[0, :, 2] = 255
    hsv[1, :, 2] = 200
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def _shifted_by_hand(rgb: np.ndarray, factor: float) -> np.ndarray:
    """``rgb`` with each OpenCV hue ``h`` set to ``(h + int(factor * 255))
    % 180``, computed in Python ints, as float32."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    offset = int(factor * 255)
    hues = [(int(h) + offset) % 180 for h in hsv[..., 0].ravel()]
    hsv[..., 0] = np.array(hues, np.uint8).reshape(hsv.shape[:2])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)


def _hue_draw(seed: int, hue: float = 0.1) -> float:
    """The hue factor ``ColorJitter(hue=hue)`` draws after
    ``np.random.seed(seed)`` and its construction (its permutation, then
    brightness, contrast, saturation and hue, one draw each)."""
    np.random.seed(seed)
    np.random.permutation(4)
    for _ in range(3):
        np.random.uniform()
    return np.random.uniform(-hue, hue)


def test_the_rgb_image_has_hues_at_both_ends():
    hues = cv2.cvtColor(_rgb_with_hues(), cv2.COLOR_RGB2HSV)[..., 0]
    assert hues.min() <= 1 and hues.max() >= 178, hues


@pytest.mark.parametrize('seed', [1, 3, 0, 4])
def test_the_transform_shifts_the_hue_as_computed_by_hand(seed):
    """Seeds 1 and 3 draw a negative hue (offsets -20 and -3), which raised
    ``OverflowError: Python integer -20 out of bounds for uint8``; 0 and
    4 a positive one."""
    factor = _hue_draw(seed)
    assert (factor < 0) == (seed in (1, 3)), factor
    rgb = _rgb_with_hues()
    np.random.seed(seed)
    # Only the hue: brightness, contrast and saturation are left at 1.
    jitter = ColorJitter(brightness=0, contrast=0, saturation=0, hue=0.1)
    out = jitter.transform(dict(imgs=[rgb, rgb.astype(np.float32)]))
    expected = _shifted_by_hand(rgb, factor).astype(np.uint8)
    assert len(out['imgs']) == 2
    for img in out['imgs']:
        assert img.dtype == np.uint8
        np.testing.assert_array_equal(img, expected)


@pytest.mark.parametrize('factor', [-0.5, -0.3, -0.02, 0.02, 0.3, 0.5])
def test_adjust_hue_wraps_the_sum_at_180(factor):
    """Offsets from -127 to 127: sums below 0 and (positive ones) above
    179, and above 255 (``factor=0.5``: 179 + 127 = 306, whose hue is
    126; a uint8 sum gave 50)."""
    rgb = _rgb_with_hues()
    np.testing.assert_array_equal(
        ColorJitter.adjust_hue(rgb, factor), _shifted_by_hand(rgb, factor))
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    shifted = cv2.cvtColor(
        ColorJitter.adjust_hue(rgb, factor).astype(np.uint8),
        cv2.COLOR_RGB2HSV)
    if factor == 0.5:
        at_179 = hsv[..., 0] == 179
        assert at_179.any()
        # Converting back and forth may move a hue by one.
        assert np.abs(shifted[at_179, 0].astype(int) - 126).max() <= 1


def test_only_an_overflowing_adjust_hue_is_replaced(monkeypatch):
    """A fixed mmaction2 (an ``adjust_hue`` that does not overflow) is left
    alone, and the fix is idempotent."""
    assert ColorJitter.adjust_hue is adjust_hue_in_int
    assert fix_color_jitter_hue() is False
    assert not hue_sum_overflows(adjust_hue_in_int)

    def fixed_upstream(img, factor):
        return np.asarray(img, np.float32)

    monkeypatch.setattr(ColorJitter, 'adjust_hue',
                        staticmethod(fixed_upstream))
    assert fix_color_jitter_hue() is False
    assert ColorJitter.adjust_hue is fixed_upstream


def test_mmaction2s_own_adjust_hue_overflows_and_import_replaces_it():
    """In a fresh process: mmaction2's method raises NumPy 2's error
    before ``import mmadaptformer`` and is replaced by it (kept behaviour
    under NumPy 1, where it does not overflow and is left)."""
    result = run_fresh_python("""
        import numpy as np
        from mmaction.datasets.transforms import ColorJitter
        img = np.zeros((1, 1, 3), np.float32)
        try:
            ColorJitter.adjust_hue(img, -0.02)
        except OverflowError as error:
            print('before:', error)
        else:
            print('before: no error')
        import mmadaptformer
        from mmadaptformer.utils.color_jitter_hue import adjust_hue_in_int
        print('after:', ColorJitter.adjust_hue is adjust_hue_in_int,
              ColorJitter.adjust_hue(img, -0.02).tolist())
    """)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    if np.lib.NumpyVersion(np.__version__) >= '2.0.0':
        assert lines == [
            'before: Python integer -5 out of bounds for uint8',
            'after: True [[[0.0, 0.0, 0.0]]]'
        ], result.stdout
    else:
        assert lines == [
            'before: no error', 'after: False [[[0.0, 0.0, 0.0]]]'
        ], result.stdout


def test_the_tpn_train_pipeline_reads_a_real_video(tmp_path, monkeypatch):
    """mmaction2's TPN recipe's train pipeline (``ColorJitter()`` with its
    defaults) through a real ``VideoDataset`` on a decord-read mp4: the
    first negative hue draw stopped such a run with ``OverflowError``."""
    writer = cv2.VideoWriter(
        str(tmp_path / 'clip.mp4'), cv2.VideoWriter_fourcc(*'mp4v'), 8,
        (32, 32))
    rgb = cv2.resize(
        _rgb_with_hues(), (32, 32), interpolation=cv2.INTER_NEAREST)
    for _ in range(64):
        writer.write(rgb[..., ::-1])
    writer.release()
    ann_file = tmp_path / 'train.txt'
    ann_file.write_text('clip.mp4 0\n')
    config = tmp_path / 'tpn.py'
    config.write_text(f'_base_ = [{TPN_CONFIG!r}]\n')
    cfg = Config.fromfile(str(config))
    assert dict(type='ColorJitter', _scope_='mmaction') in cfg.train_pipeline
    dataset = VideoDataset(
        str(ann_file),
        pipeline=cfg.train_pipeline,
        data_prefix=dict(video=str(tmp_path)))
    # Records the factors the pipeline's ColorJitter shifts by.
    factors = []
    installed = ColorJitter.adjust_hue

    def recording(img, factor):
        factors.append(factor)
        return installed(img, factor)

    monkeypatch.setattr(ColorJitter, 'adjust_hue', staticmethod(recording))
    for seed in range(4):
        np.random.seed(seed)
        packed = dataset[0]
        assert tuple(packed['inputs'].shape) == (1, 3, 8, 224, 224)
        assert packed['data_samples'].gt_label.tolist() == [0]
    # One factor per frame of each clip, some of them negative.
    assert len(factors) == 4 * 8
    assert min(factors) < 0 < max(factors)


def _mmcv_shifted_by_hand(bgr: np.ndarray, factor: float,
                          backend: str) -> np.ndarray:
    """``bgr`` with each 0 to 255 hue ``h`` (OpenCV's ``HSV_FULL`` or
    PIL's ``HSV``) set to ``(h + int(factor * 255)) % 256``, computed in
    Python ints."""
    offset = int(factor * 255)
    if backend == 'cv2':
        hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV_FULL)
    else:
        hsv = np.array(Image.fromarray(bgr[..., ::-1]).convert('HSV'))
    hues = [(int(h) + offset) % 256 for h in hsv[..., 0].ravel()]
    hsv[..., 0] = np.array(hues, np.uint8).reshape(hsv.shape[:2])
    if backend == 'cv2':
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)
    rgb = Image.fromarray(hsv, 'HSV').convert('RGB')
    return np.array(rgb)[..., ::-1]


@pytest.mark.parametrize('factor', [-0.5, -0.1, -0.004, 0.1, 0.5])
def test_mmcv_adjust_hue_wraps_the_sum_at_256(factor):
    """mmpretrain's ``ColorJitter`` calls ``mmcv.adjust_hue``, whose
    ``np.uint8(hue_factor * 255)`` raised ``OverflowError: Python integer
    -25 out of bounds for uint8`` for ``-0.1``."""
    bgr = _rgb_with_hues()[..., ::-1].copy()
    for backend in ('cv2', 'pillow'):
        np.testing.assert_array_equal(
            mmcv.adjust_hue(bgr, factor, backend=backend),
            _mmcv_shifted_by_hand(bgr, factor, backend))


@pytest.mark.parametrize('seed', [1, 0])
def test_mmpretrain_color_jitter_shifts_the_hue(seed):
    """Seed 1 draws a negative hue (-0.09998 at ``hue=0.1``: the offset
    -25), which crashed; 0 a positive one."""
    # mmpretrain draws the order of its steps, then (brightness, contrast
    # and saturation being off) the hue alone.
    np.random.seed(seed)
    np.random.permutation(4)
    hue = np.random.uniform(-0.1, 0.1)
    assert (hue < 0) == (seed == 1), hue
    bgr = _rgb_with_hues()[..., ::-1].copy()
    jitter = PretrainColorJitter(hue=0.1)
    np.random.seed(seed)
    out = jitter.transform(dict(img=bgr.copy()))['img']
    # Its default backend is PIL.
    np.testing.assert_array_equal(out,
                                  _mmcv_shifted_by_hand(bgr, hue, 'pillow'))


def test_only_an_overflowing_mmcv_adjust_hue_is_replaced(monkeypatch):
    assert mmcv.adjust_hue is mmcv_adjust_hue_in_int
    assert mmcv.image.adjust_hue is mmcv_adjust_hue_in_int
    assert fix_mmcv_adjust_hue() is False

    def fixed_upstream(img, hue_factor, backend=None):
        return img

    for module in (mmcv, mmcv.image, mmcv.image.photometric):
        monkeypatch.setattr(module, 'adjust_hue', fixed_upstream)
    assert fix_mmcv_adjust_hue() is False
    assert mmcv.adjust_hue is fixed_upstream


def test_mmcvs_own_adjust_hue_overflows_and_import_replaces_it():
    """In a fresh process: mmcv's raises NumPy 2's error for a negative
    factor before ``import mmadaptformer``; after it, the copy gives what
    mmcv's gave for positive factors, with both backends."""
    result = run_fresh_python("""
        import numpy as np
        import mmcv
        img = np.random.RandomState(0).randint(0, 256, (6, 6, 3)).astype(
            np.uint8)
        try:
            mmcv.adjust_hue(img, -0.1)
        except OverflowError as error:
            print('before:', error)
        else:
            print('before: no error')
        cases = [(f, b) for f in (0.0, 0.05, 0.3, 0.5)
                 for b in ('cv2', 'pillow')]
        upstream = [mmcv.adjust_hue(img, f, backend=b) for f, b in cases]
        import mmadaptformer
        print('after:', mmcv.adjust_hue.__name__, all(
            np.array_equal(mmcv.adjust_hue(img, f, backend=b), out)
            for (f, b), out in zip(cases, upstream)))
    """)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    if np.lib.NumpyVersion(np.__version__) >= '2.0.0':
        assert lines == [
            'before: Python integer -25 out of bounds for uint8',
            'after: mmcv_adjust_hue_in_int True'
        ], result.stdout
    else:
        assert lines == ['before: no error',
                         'after: adjust_hue True'], result.stdout
