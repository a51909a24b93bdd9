# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Inputs shorter than a clip: files and arrays, answered by a real tiny
video model, are named with their frames and the frames a clip spans."""
import numpy as np
import pytest
from helpers import TINY_VIDEO_CONFIG, save_stock_video_checkpoint
from mmengine.config import Config

from mmadaptformer.apis import ModelInferencer, clip_span, short_video_inputs
from mmadaptformer.datasets.short_videos import short_videos_notice


@pytest.fixture(scope='module')
def answered(tmp_path_factory):
    """A 20-frame mp4 and a 3-frame one, a 20-frame array and a 3-frame one,
    classified by the tiny video model, whose clip spans 10 frames."""
    from mmadaptformer.testing import write_video
    root = tmp_path_factory.mktemp('short_inputs')
    save_stock_video_checkpoint(str(root / 'stock.pth'))
    rng = np.random.default_rng(0)
    long_file, short_file = (write_video(
        str(root / f'{name}.mp4'),
        rng.integers(0, 256, (frames, 32, 32, 3), dtype=np.uint8))
                             for name, frames in (('long', 20), ('short', 3)))
    inputs = [
        long_file,
        rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8),
        short_file,
        rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8),
    ]
    inferencer = ModelInferencer(
        TINY_VIDEO_CONFIG, str(root / 'stock.pth'), name='v')
    return dict(
        inferencer=inferencer,
        inputs=inputs,
        results=inferencer(inputs, batch_size=2),
        spans=dict(v=clip_span(Config.fromfile(TINY_VIDEO_CONFIG))))


def test_a_short_array_is_named_by_its_index_as_a_short_file_is(
        answered, clean_loggers):
    """Before, an array's index was opened as a video file: every array was
    reported, as ``(3, 0, 10)``, the long one too."""
    inputs, results = answered['inputs'], answered['results']
    assert answered['spans'] == dict(v=10)
    assert list(results) == [inputs[0], 1, inputs[2], 3]
    short = short_video_inputs(results, answered['spans'], inputs)
    assert short == [(inputs[2], 3, 10), ('inputs[3]', 3, 10)]
    notice = short_videos_notice('classified', len(short), short)
    # Sorted: an absolute path before ``inputs[...]``.
    assert notice.endswith(f'frames ({inputs[2]} (3 of 10 frames), '
                           'inputs[3] (3 of 10 frames))')


def test_a_short_array_given_alone_is_inputs_0(answered, clean_loggers):
    array = answered['inputs'][3]
    results = answered['inferencer'](array)
    assert short_video_inputs(results, answered['spans'],
                              array) == [('inputs[0]', 3, 10)]
    assert short_video_inputs(answered['inferencer'](answered['inputs'][1]),
                              answered['spans'], answered['inputs'][1]) == []


def test_an_array_key_without_its_inputs_is_refused_by_name(answered):
    results, spans = answered['results'], answered['spans']
    with pytest.raises(
            ValueError,
            match=r'^results key 1 is the index of an array in the inputs '
            r'the engine was called with; give those inputs too'):
        short_video_inputs(results, spans)
    with pytest.raises(
            ValueError,
            match=r'^results key 1 is the index of an array .*, but '
            r'inputs\[1\] is a str; give the inputs the results are of'):
        short_video_inputs(results, spans, answered['inputs'][::-1])
    with pytest.raises(
            ValueError, match=r'^results key 3 .*, but inputs has 2 items;'):
        short_video_inputs({3: results[3]}, spans, answered['inputs'][:2])

    # An array whose answer failed, or whose task is an image one, is not
    # looked up.
    failed = {1: dict(v=dict(error='x')), 2: dict(i={})}
    assert short_video_inputs(failed, dict(v=10, i=None)) == []


def test_a_clip_folder_emptied_after_its_classification_is_said(
        tmp_path, log_records):
    """A clip's folder answered by a rawframe task whose frames are gone
    when they are counted again is not named as short, and a warning says
    why its length is not known. Before, the count's InferenceInputError
    escaped (no results were written by tools/infer.py)."""
    from mmadaptformer.apis.frame_folders import FrameFolders
    clip = tmp_path / 'clip'
    clip.mkdir()  # its frames were removed after the forward
    answer = dict(label=0, scores=[1.0])
    short = short_video_inputs({str(clip): dict(r=answer)},
                               dict(r=10),
                               frames=dict(r=FrameFolders()))
    assert short == []
    said = [r.getMessage() for r in log_records]
    assert said == [
        f'{clip}: was classified, but its frames cannot be counted now '
        "(holds no frames named as filename_tmpl 'img_{:05}.jpg' from the "
        'test dataset, start_index 1 gives them (expected img_00001.jpg, '
        '...)); it changed after it was read, so whether it is shorter '
        'than a clip is not known.'
    ]
