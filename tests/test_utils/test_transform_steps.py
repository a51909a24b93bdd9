# Copyright (c) mmadaptformer contributors. All rights reserved.
"""run_transforms: the transform that fails is named, and only a loading
one counts as a file that cannot be read."""
import numpy as np
import pytest
from mmaction.registry import TRANSFORMS
from mmengine.registry import init_default_scope

from mmadaptformer.utils.transform_steps import (TransformError, run_transform,
                                                 run_transforms)
from mmadaptformer.utils.video_containers import one_line_error


def _transform(cfg):
    init_default_scope('mmaction')
    return TRANSFORMS.build(cfg)


def test_a_loading_transform_reads_the_file_and_a_crop_does_not(tmp_path):
    missing = str(tmp_path / 'none.mp4')
    decord = _transform(dict(type='DecordInit'))
    with pytest.raises(TransformError) as error:
        run_transforms([decord], dict(filename=missing, start_index=0))
    assert error.value.reads_file and error.value.index == 0
    assert error.value.name == 'DecordInit'
    crop = _transform(dict(type='ThreeCrop', crop_size=8))
    frames = [np.zeros((16, 24, 3), np.uint8)]
    with pytest.raises(TransformError) as error:
        run_transform(3, crop, dict(imgs=frames))
    assert not error.value.reads_file
    assert error.value.describe('test_pipeline').startswith(
        'ThreeCrop (test_pipeline[3]) failed: AssertionError: raised at '
        'mmaction/datasets/transforms/processing.py:')
    assert isinstance(error.value.error, AssertionError)
    assert isinstance(error.value.__cause__, AssertionError)


def test_a_transform_that_drops_the_sample_ends_the_run():
    seen = []

    def drop(results):
        return None

    def after(results):
        seen.append(results)
        return results

    assert run_transforms([drop, after], dict(a=1)) is None
    assert seen == []
    assert run_transforms([after], dict(a=1)) == dict(a=1)


def _bare_raise():
    raise AssertionError


def test_an_error_without_a_message_is_named_by_its_line():
    """pytest rewrites a test's own asserts to carry a message; a bare
    ``raise`` has none, as mmaction2's asserts have none."""
    try:
        _bare_raise()
    except AssertionError as e:
        line = one_line_error(e)
    first = _bare_raise.__code__.co_firstlineno
    assert line.startswith('AssertionError: raised at ')
    assert line.endswith(
        f'test_transform_steps.py:{first + 1}: raise AssertionError'), line
    assert one_line_error(ValueError('a\n  b')) == 'ValueError: a b'
