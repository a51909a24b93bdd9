# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py --show-dir DIR``: each answered input drawn with its
top-k classes (every task's in a multi-task run), named after its path;
the results unchanged; a DIR that would harm refused with exit status 2.
Before, ``--show-dir`` was an unknown option (exit status 2)."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from adapter_tasks import random_task_checkpoints
from drawn_frames import (assert_drawn, damaged_when_classified, gray_frames,
                          read_video)
from helpers import (TINY_ADAPTFORMER_RAWFRAMES_CONFIG,
                     TINY_ADAPTFORMER_VIDEO_CONFIG)

from mmadaptformer.testing import write_video


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    """Two videos of one name in two folders (9 and 6 frames) and one that
    is not a video, in ``root/in``."""
    root = tmp_path_factory.mktemp('infer_show')
    first = write_video(str(root / 'in' / 'a' / 'clip.mp4'), gray_frames(9))
    second = write_video(str(root / 'in' / 'b' / 'clip.mp4'), gray_frames(6))
    broken = root / 'in' / 'b' / 'broken.mp4'
    broken.write_text('not a video\n')
    return dict(root=root, good=[first, second], broken=str(broken))


def _files(folder) -> list:
    return sorted(
        osp.relpath(osp.join(r, f), folder) for r, _, fs in os.walk(folder)
        for f in fs)


def test_inputs_are_drawn_and_the_results_are_unchanged(
        infer, stock_video_model, videos, tmp_path, capsys, clean_loggers):
    model = [stock_video_model['config'], stock_video_model['checkpoint']]
    inputs = videos['good'] + [videos['broken']]
    assert infer(model + inputs + ['--out', str(tmp_path / 'plain.json')]) \
        == 1  # the broken input
    plain = capsys.readouterr().out
    show = tmp_path / 'vis'
    assert infer(
        model + inputs +
        ['--out',
         str(tmp_path / 'drawn.json'), '--show-dir',
         str(show)]) == 1
    captured = capsys.readouterr()
    assert captured.out == plain
    assert json.loads((tmp_path / 'drawn.json').read_text()) == json.loads(
        (tmp_path / 'plain.json').read_text())
    assert f'Drawings of 2 inputs written to {show}' in captured.err
    # Named by the path under the inputs' common folder; the broken input
    # draws nothing.
    assert _files(show) == [
        osp.join('a', 'clip.mp4'),
        osp.join('b', 'clip.mp4')
    ]
    for folder, video in zip('ab', videos['good']):
        drawn, original = read_video(str(show / folder / 'clip.mp4')), \
            read_video(video)
        assert drawn.shape == original.shape
        for frame, source in zip(drawn, original):
            assert_drawn(frame, source)


def test_a_video_damaged_after_its_classification_fails_the_run(
        infer, stock_video_model, tmp_path, capsys, clean_loggers):
    """A video classified whole that no longer opens when it is drawn (cut
    short in between) is said on stderr as not drawn, the other input is
    drawn, the results keep its answer, and the exit status is 1. Before,
    decord's DECORDError escaped the drawing: a traceback, and no
    results file."""
    damaged = write_video(
        str(tmp_path / 'in' / 'damaged.mp4'), gray_frames(12))
    good = write_video(str(tmp_path / 'in' / 'good.mp4'), gray_frames(12))
    show, out = tmp_path / 'vis', tmp_path / 'r.json'
    with damaged_when_classified(damaged) as cut:
        status = infer([
            stock_video_model['config'], stock_video_model['checkpoint'],
            damaged, good, '--out',
            str(out), '--show-dir',
            str(show)
        ])
    assert cut, 'the model never ran'
    err = capsys.readouterr().err
    assert status == 1
    assert f'ERROR {damaged}: cannot be drawn to {show / "damaged.mp4"} ' \
        '(RuntimeError: the video cannot be opened (DECORDError: ' in err
    assert f'Drawings of 1 input written to {show}' in err
    assert _files(show) == ['good.mp4']  # and no partial file
    assert_drawn(read_video(str(show / 'good.mp4'))[0], read_video(good)[0])
    results = json.loads(out.read_text())
    assert set(results) == {damaged, good}
    assert 'error' not in results[damaged]['tiny']


def _refusal(infer, argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        infer(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1].partition(
        ': error: ')[2]


def test_a_show_dir_that_harms_is_refused_before_loading(
        infer, stock_video_model, videos, tmp_path, capsys, clean_loggers):
    model = [stock_video_model['config'], stock_video_model['checkpoint']]
    a_file = tmp_path / 'file'
    a_file.write_text('')
    assert _refusal(infer, model + videos['good'] + ['--show-dir', str(
        a_file)], capsys) == f'--show-dir {a_file}: it is a file; give the ' \
        'folder the drawings go to.'
    # Inside a folder INPUT: the same command again would classify them.
    folder = str(videos['root'] / 'in')
    inside = osp.join(folder, 'vis')
    assert 'would be written inside the input folder' in _refusal(
        infer, model + [folder, '--show-dir', inside], capsys)
    assert not osp.exists(inside)
    # Over an input.
    first = videos['good'][0]
    before = open(first, 'rb').read()
    line = _refusal(
        infer,
        model + [first, '--show-dir', osp.dirname(first)], capsys)
    assert line == (f'--show-dir {osp.dirname(first)}: the drawing of '
                    f'{first} would be written over the input {first}; '
                    'give another folder.')
    assert open(first, 'rb').read() == before
    # Nothing is written without --show-dir.
    assert infer(model + [first]) == 0
    assert _files(videos['root']) == [
        osp.join('in', 'a', 'clip.mp4'),
        osp.join('in', 'b', 'broken.mp4'),
        osp.join('in', 'b', 'clip.mp4')
    ]


def _text_rows(drawn: np.ndarray, original: np.ndarray) -> int:
    """The rows of the frame the text box covers."""
    diff = np.abs(drawn.astype(float) - original.astype(float))
    return int((diff[:, :100].mean(axis=(1, 2)) > 20).sum())


def test_every_task_is_drawn_on_one_video(infer, videos, tmp_path, capsys,
                                          clean_loggers):
    """A multi-task run draws one file per input, all tasks' classes on
    it: the text box of two tasks is about twice as tall as one's."""
    first, second = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG,
                                            'mmaction', tmp_path)
    video = videos['good'][0]
    one, two = tmp_path / 'one', tmp_path / 'two'
    task_a = ['--task', 'a', TINY_ADAPTFORMER_VIDEO_CONFIG, first]
    task_b = ['--task', 'b', TINY_ADAPTFORMER_VIDEO_CONFIG, second]
    assert infer(task_a + [video, '--show-dir', str(one)]) == 0
    assert infer(task_a + task_b + [video, '--show-dir', str(two)]) == 0
    assert _files(two) == ['clip.mp4']
    original = read_video(video)[0]
    rows_one = _text_rows(read_video(str(one / 'clip.mp4'))[0], original)
    rows_two = _text_rows(read_video(str(two / 'clip.mp4'))[0], original)
    assert rows_one > 10
    assert 1.6 * rows_one < rows_two < 2.4 * rows_one


def test_a_clip_folder_of_frames_is_drawn_as_one_video(infer, tmp_path, capsys,
                                                       clean_loggers):
    """For a rawframe config, each clip's folder of frames is one input:
    one .mp4 of its frames, named after the folder."""
    import cv2
    config = TINY_ADAPTFORMER_RAWFRAMES_CONFIG
    checkpoint, = random_task_checkpoints(config, 'mmaction', tmp_path, (1, ))
    frames = gray_frames(8)
    for clip in ('c1', 'c2'):
        (tmp_path / 'clips' / clip).mkdir(parents=True)
        for index, frame in enumerate(frames, 1):
            cv2.imwrite(
                str(tmp_path / 'clips' / clip / f'img_{index:05}.jpg'),
                frame[..., ::-1])
    show = tmp_path / 'vis'
    assert infer(
        [config, checkpoint,
         str(tmp_path / 'clips'), '--show-dir',
         str(show)]) == 0
    assert _files(show) == ['c1.mp4', 'c2.mp4']
    original = cv2.imread(str(tmp_path / 'clips' / 'c1' /
                              'img_00003.jpg'))[..., ::-1]
    drawn = read_video(str(show / 'c1.mp4'))
    assert len(drawn) == 8
    assert_drawn(drawn[2], original)


def test_the_folder_is_made_though_no_input_was_answered(
        infer, stock_video_model, videos, tmp_path, capsys, clean_loggers):
    show = tmp_path / 'new' / 'vis'
    assert infer([
        stock_video_model['config'], stock_video_model['checkpoint'],
        videos['broken'], '--show-dir',
        str(show)
    ]) == 1
    assert show.is_dir() and _files(show) == []
    assert f'Drawings of 0 inputs written to {show}' in capsys.readouterr().err
