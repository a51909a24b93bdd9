# Copyright (c) mmadaptformer contributors. All rights reserved.
"""In-memory inputs: an array gets its file's scores (videos as decord
decodes them, RGB; images as mmcv reads them, BGR), mixed with files in one
call, keyed by index; a bad array or a PIL image is named before anything
runs."""
import os.path as osp
import re

import numpy as np
import pytest
import torch
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG,
                     save_stock_video_checkpoint)

from mmadaptformer.apis import (VIDEO_EXTENSIONS, InferenceInputError,
                                ModelInferencer, MultiTaskRecognizer)
from mmadaptformer.apis.array_inputs import collect_items


def _decoded(path: str) -> np.ndarray:
    """Every frame of a video, as decord decodes it (RGB)."""
    import decord
    reader = decord.VideoReader(path)
    return reader.get_batch(list(range(len(reader)))).asnumpy()


def _close(answer: dict, expected: dict) -> None:
    torch.testing.assert_close(
        torch.tensor(answer['scores']),
        torch.tensor(expected['scores']),
        rtol=1e-5,
        atol=1e-6)


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    """A random-weight video inferencer and a real mp4, wider than high (so
    that ``Resize`` and ``ThreeCrop`` act), with its decoded frames."""
    from mmadaptformer.testing import write_video
    root = tmp_path_factory.mktemp('array_video')
    save_stock_video_checkpoint(str(root / 'stock.pth'))
    path = write_video(
        str(root / 'clip.mp4'),
        np.random.default_rng(0).integers(
            0, 256, (20, 32, 64, 3), dtype=np.uint8))
    inferencer = ModelInferencer(
        TINY_VIDEO_CONFIG, str(root / 'stock.pth'), name='v')
    return dict(inferencer=inferencer, path=path, frames=_decoded(path))


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    """A random-weight image inferencer and a PNG with its pixels as
    ``mmcv.imread`` reads them (BGR)."""
    import cv2
    import mmcv
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    root = tmp_path_factory.mktemp('array_image')
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_IMAGE_CONFIG).model)
    model.init_weights()
    ckpt = str(root / 'vit.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    path = str(root / 'image.png')
    cv2.imwrite(
        path,
        np.random.default_rng(1).integers(0, 256, (32, 32, 3), np.uint8))
    return dict(
        inferencer=ModelInferencer(TINY_IMAGE_CONFIG, ckpt, name='i'),
        checkpoint=ckpt,
        path=path,
        pixels=mmcv.imread(path))


def test_a_video_array_gets_its_files_scores(video, clean_loggers):
    """The test pipeline's DecordInit/DecordDecode become ArrayDecode, as
    in mmaction2's inferencer; the sampling (2 clips) and ThreeCrop stay.
    Arrays were refused with a TypeError."""
    frames = video['frames']
    before = frames.copy()
    results = video['inferencer']([video['path'], frames, frames[..., ::-1]],
                                  batch_size=2)
    assert list(results) == [video['path'], 1, 2]
    _close(results[1]['v'], results[video['path']]['v'])
    # RGB, as decord decodes: the same frames in BGR order score otherwise.
    assert results[2]['v']['scores'] != results[1]['v']['scores']
    np.testing.assert_array_equal(frames, before)
    # One array alone is one input, keyed 0.
    alone = video['inferencer'](frames)
    assert list(alone) == [0]
    _close(alone[0]['v'], results[video['path']]['v'])


def test_an_image_array_gets_its_files_and_mmpretrains_scores(
        image, clean_loggers):
    """BGR as mmcv.imread reads it, which mmpretrain's
    ImageClassificationInferencer takes."""
    from mmpretrain.apis import ImageClassificationInferencer
    pixels = image['pixels']
    results = image['inferencer']([pixels, image['path'], pixels[..., ::-1]])
    assert list(results) == [0, image['path'], 2]
    _close(results[0]['i'], results[image['path']]['i'])
    assert results[2]['i']['scores'] != results[0]['i']['scores']
    upstream = ImageClassificationInferencer(
        TINY_IMAGE_CONFIG, pretrained=image['checkpoint'])(pixels)[0]
    _close(results[0]['i'], dict(scores=upstream['pred_scores'].tolist()))


@pytest.mark.parametrize(
    'shape, dtype, said',
    [((32, 64, 3), np.uint8, 'is an image, but this model classifies '
      r'videos; give frames T x H x W x 3 \(one frame: array\[None\]\)'),
     ((0, 32, 64, 3), np.uint8, 'is empty'),
     ((4, 32, 64, 1), np.uint8, 'has 1 channels'),
     ((4, 32, 64), np.uint8, r'has 3 dimensions \(one channel\? repeat it'),
     ((4, 3, 32, 64), np.uint8, 'channels first'),
     ((4, 32, 64, 3), np.float32,
      r'is float32 \(values 0 to 255: 0-255 pixels\? '
      r'array.round\(\).astype\(np.uint8\)\)')],
    ids=[
        'image', 'empty', 'one-channel', 'no-channel-axis', 'channels-first',
        'float-0-255'
    ])
def test_bad_video_arrays_are_named_before_anything_runs(
        video, shape, dtype, said, clean_loggers):
    bad = np.full(shape, 255, dtype)
    if bad.size:
        bad.flat[0] = 0
    with pytest.raises(InferenceInputError) as info:
        video['inferencer']([video['path'], bad])
    message = str(info.value)
    assert message.startswith(
        f'inputs[1]: array of shape {shape}, {np.dtype(dtype).name}: ')
    assert re.search(said, message), message
    assert 'expected a video: T x H x W x 3 uint8 frames in RGB order' in \
        message or 'this model classifies videos' in message


def test_images_of_the_wrong_kind_and_pil_images_are_named(
        image, clean_loggers):
    from PIL import Image
    with pytest.raises(InferenceInputError) as info:
        image['inferencer'](
            [image['path'], np.zeros((2, 32, 32, 3), np.uint8)])
    assert str(info.value) == (
        'inputs[1]: array of shape (2, 32, 32, 3), uint8: is a video, but '
        'this model classifies images; give one H x W x 3 image.')
    with pytest.raises(InferenceInputError, match=r'pixels scaled to'):
        image['inferencer'](np.full((32, 32, 3), 0.5, np.float64))
    pil = Image.fromarray(image['pixels'][..., ::-1])
    with pytest.raises(TypeError) as info:
        image['inferencer']([image['path'], pil])
    assert 'inputs[1]: got a PIL image' in str(info.value)
    fix = 'np.asarray(img.convert("RGB"))[..., ::-1]'
    assert fix in str(info.value)
    # The fix it names gives the file's scores.
    converted = np.asarray(pil.convert('RGB'))[..., ::-1]
    results = image['inferencer']([image['path'], converted])
    _close(results[1]['i'], results[image['path']]['i'])


def test_each_task_gives_an_array_its_files_scores(video_tasks,
                                                   tiny_video_data,
                                                   clean_loggers):
    """Two tasks on one backbone, a file and its decoded frames."""
    engine = MultiTaskRecognizer()
    for name in ('full', 'last'):
        engine.add_task(name, video_tasks[name]['config'],
                        video_tasks[name]['checkpoint'])
    with open(tiny_video_data['val']) as f:
        names = [line.split()[0] for line in f if line.strip()][:2]
    paths = [osp.join(tiny_video_data['videos'], name) for name in names]
    inputs = [paths[0], _decoded(paths[0]), _decoded(paths[1]), paths[1]]
    results = engine(inputs, batch_size=3)
    assert list(results) == [paths[0], 1, 2, paths[1]]
    for index, path in ((1, paths[0]), (2, paths[1])):
        assert set(results[index]) == {'full', 'last'}
        for name in ('full', 'last'):
            _close(results[index][name], results[path][name])
    with pytest.raises(InferenceInputError, match=r'^inputs\[0\]: array'):
        engine([_decoded(paths[0])[0]])


def test_files_and_arrays_keep_their_order_and_files_are_given_once(
        tmp_path, monkeypatch, log_records):
    """A folder before an array and its file after it: the file is
    classified once, under its path, and the array under its index."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'clips').mkdir()
    for name in ('a.mp4', 'b.mp4'):
        (tmp_path / 'clips' / name).write_bytes(b'')
    frames = np.zeros((2, 32, 32, 3), np.uint8)
    items = collect_items(
        ['clips', frames, osp.join('clips', 'b.mp4'), 'c.mp4'], 'mmaction',
        VIDEO_EXTENSIONS)
    a, b = osp.join('clips', 'a.mp4'), osp.join('clips', 'b.mp4')
    assert [key for key, _ in items] == [a, b, 1, 'c.mp4']
    assert items[2][1] is frames
    assert f'inputs: 1 file was given more than once (e.g. {b}); each ' \
        'is classified once.' in [r.getMessage() for r in log_records]
    with pytest.raises(
            TypeError,
            match=r'^inputs\[1\]: expected a path '
            r'\(str or os.PathLike\), a numpy array, or a '
            r'sequence of them, got int 3\.$'):
        collect_items([frames, 3], 'mmaction', VIDEO_EXTENSIONS)
    with pytest.raises(TypeError, match=r'inputs\[0\]: got a torch Tensor'):
        collect_items([torch.zeros(2, 32, 32, 3)], 'mmaction',
                      VIDEO_EXTENSIONS)


def test_results_are_written_as_json_with_arrays_named_as_errors_name_them(
        video, clean_loggers):
    """``json.dumps`` of the results writes an array's index 1 as ``"1"``,
    a file's name; :func:`named_results` names it ``inputs[1]``, keeps the
    order and refuses a file that gets an array's name."""
    import json

    from mmadaptformer.apis.array_inputs import input_name, named_results
    results = video['inferencer']([video['path'], video['frames']])
    assert list(json.loads(json.dumps(results))) == [video['path'], '1']
    written = json.loads(json.dumps(named_results(results)))
    assert list(written) == [video['path'], 'inputs[1]']
    assert written['inputs[1]'] == results[1]
    assert (input_name(0), input_name('a.mp4')) == ('inputs[0]', 'a.mp4')
    with pytest.raises(
            ValueError,
            match=r"^results: the file 'inputs\[1\]' and the array at index "
            r"1 are both named 'inputs\[1\]'; rename the file\.$"):
        named_results({'inputs[1]': {}, 1: {}})
