# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``ModelInferencer(...)(inputs, show_dir=DIR)`` draws each answered input
with its top-k classes, as MMPretrain's ``ImageClassificationInferencer``
does with ``show_dir``: a video as an .mp4 of all its frames, an image as a
.png, named after the input's path. Before, the Inferencer could not draw
(``show_dir`` was an unexpected argument)."""
import os
import os.path as osp

import cv2
import pytest
from drawn_frames import (assert_drawn, damaged_when_classified, gray_frames,
                          read_video)
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, image_data_cfg,
                     save_as_built_checkpoint, save_stock_video_checkpoint,
                     video_data_cfg, write_config)

from mmadaptformer.apis import ModelInferencer
from mmadaptformer.testing import write_video


@pytest.fixture(scope='module')
def video_model(tmp_path_factory, tiny_video_data):
    root = tmp_path_factory.mktemp('show_video_model')
    config = write_config(root / 'tiny.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    checkpoint = str(root / 'full.pth')
    save_stock_video_checkpoint(checkpoint)
    labels = root / 'labels.txt'
    labels.write_text('left\nright\n')
    return ModelInferencer(config, checkpoint, label_map=str(labels))


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    """Two videos of one name in two folders (10 and 7 frames) and one
    that is not a video."""
    root = tmp_path_factory.mktemp('show_videos')
    first = write_video(str(root / 'a' / 'clip.mp4'), gray_frames(10))
    second = write_video(str(root / 'b' / 'clip.mp4'), gray_frames(7))
    broken = root / 'b' / 'broken.mp4'
    broken.write_text('not a video\n')
    return dict(root=str(root), good=[first, second], broken=str(broken))


def test_each_video_is_drawn_whole_with_its_top_classes(
        video_model, videos, tmp_path, clean_loggers):
    show = tmp_path / 'made' / 'vis'
    inputs = videos['good'] + [videos['broken']]
    results = video_model(inputs, show_dir=str(show), show_topk=2)
    assert results == video_model(inputs)  # the same answers
    assert set(results[videos['broken']]) == {'error'}
    drawn = sorted(
        osp.relpath(osp.join(r, f), show) for r, _, fs in os.walk(show)
        for f in fs)
    # The failed input draws nothing; one name in two folders is two files.
    assert drawn == [osp.join('a', 'clip.mp4'), osp.join('b', 'clip.mp4')]
    for folder, video in zip('ab', videos['good']):
        frames = read_video(str(show / folder / 'clip.mp4'))
        original = read_video(video)
        assert frames.shape == original.shape  # every frame, same size
        for frame, source in zip(frames, original):
            assert_drawn(frame, source)


def test_the_text_names_the_classes_as_the_results_do(video_model, videos,
                                                      clean_loggers):
    from mmadaptformer.apis.visualize import prediction_text
    video = videos['good'][0]
    answers = video_model([video])[video]
    text = prediction_text(answers, {'tiny': video_model.classes}, 2)
    first = answers['tiny']['class']
    other = ({'left', 'right'} - {first}).pop()
    scores = sorted(answers['tiny']['scores'], reverse=True)
    assert text.splitlines() == [
        'tiny:', f'  {first} ({scores[0]:.2f})', f'  {other} ({scores[1]:.2f})'
    ]


def test_a_video_damaged_after_its_classification_is_reported_not_drawn(
        video_model, tmp_path, log_records):
    """A video that was classified whole but no longer decodes when it is
    drawn (cut short in between) is not drawn and is logged as a warning
    naming it; the other input is drawn and the results are the
    classification's. Before, decord's DECORDError escaped the drawing:
    the call raised, losing the results and the drawings after it."""
    damaged = write_video(
        str(tmp_path / 'in' / 'damaged.mp4'), gray_frames(12))
    good = write_video(str(tmp_path / 'in' / 'good.mp4'), gray_frames(12))
    show = tmp_path / 'vis'
    with damaged_when_classified(damaged) as cut:
        results = video_model([damaged, good], show_dir=str(show))
    assert cut, 'the model never ran'
    assert results[damaged]['tiny']['class'] in ('left', 'right')
    assert sorted(os.listdir(show)) == ['good.mp4']  # no partial file
    assert_drawn(read_video(str(show / 'good.mp4'))[0], read_video(good)[0])
    messages = [(r.levelname, r.getMessage()) for r in log_records]
    warnings = [m for level, m in messages if 'drawn' in m]
    assert len(warnings) == 1 and ('WARNING', warnings[0]) in messages
    assert warnings[0].startswith(
        f'{damaged}: cannot be drawn to {show / "damaged.mp4"} '
        '(RuntimeError: the video cannot be opened (DECORDError: ')
    assert ('INFO', f'Drawings of 1 of 2 inputs written to {show}') \
        in messages


def test_arrays_are_drawn_by_index(video_model, tmp_path, clean_loggers):
    frames = gray_frames(6)
    video_model([frames], show_dir=str(tmp_path))
    drawn = read_video(str(tmp_path / 'inputs_0.mp4'))
    assert drawn.shape == frames.shape
    assert_drawn(drawn[0], frames[0], tolerance=6.)


def test_a_show_dir_that_harms_is_refused_before_anything_is_written(
        video_model, videos, tmp_path, clean_loggers):
    a_file = tmp_path / 'file'
    a_file.write_text('')
    with pytest.raises(ValueError, match=f'show_dir {a_file}: it is a file'):
        video_model(videos['good'], show_dir=str(a_file))
    # In a folder given as the input: a rerun would classify the drawings.
    inside = osp.join(videos['root'], 'vis')
    with pytest.raises(ValueError, match='inside the input folder'):
        video_model([videos['root']], show_dir=inside)
    assert not osp.exists(inside)
    # Over the input itself.
    folder = osp.dirname(videos['good'][0])
    before = open(videos['good'][0], 'rb').read()
    with pytest.raises(ValueError, match='would be written over the input'):
        video_model([videos['good'][0]], show_dir=folder)
    assert open(videos['good'][0], 'rb').read() == before


def test_an_image_is_drawn_as_a_png_of_its_size(tmp_path, tiny_image_data,
                                                clean_loggers):
    config = write_config(tmp_path / 'stripes.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'image.pth')
    image = str(tmp_path / 'in' / 'photo.jpg')
    os.makedirs(osp.dirname(image))
    cv2.imwrite(image, gray_frames(1)[0])
    original = cv2.imread(image)
    inferencer = ModelInferencer(config, checkpoint)
    results = inferencer([image], show_dir=str(tmp_path / 'vis'))
    assert results == inferencer([image])
    drawn = cv2.imread(str(tmp_path / 'vis' / 'photo.png'))
    assert_drawn(drawn, original, tolerance=0.)


def test_drawings_are_named_so_that_no_two_inputs_share_one(tmp_path):
    """One stem in one folder (clip.avi, clip.webm) keeps the whole names;
    one name in two folders keeps the folders."""
    from mmadaptformer.apis.show_dir import show_paths
    keys = ['in/d/clip.avi', 'in/d/clip.webm', 'in/d/x.png', 'in/e/x.png', 3]
    paths = show_paths(keys, 'vis', 'image')
    assert paths == {
        'in/d/clip.avi': osp.join('vis', 'd', 'clip.avi.mp4'),
        'in/d/clip.webm': osp.join('vis', 'd', 'clip.webm.mp4'),
        'in/d/x.png': osp.join('vis', 'd', 'x.png'),
        'in/e/x.png': osp.join('vis', 'e', 'x.png'),
        3: osp.join('vis', 'inputs_3.png')
    }
