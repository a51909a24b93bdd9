# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/infer.py as a user runs it next: what it writes and what it
refuses. NaN or inf scores are an error, not a label (the JSON held
``NaN``, which is no JSON, and a class, exit status 0); an ``--out`` named
as a pickle or YAML is refused (it got JSON); a ``--device`` this machine
lacks is refused before any model loads (``mps`` failed as the checkpoint's
error, ``meta`` with a traceback); a folder of videos with a cover image
answers its videos (the image was an error, exit status 1)."""
import json
import shutil

import cv2
import numpy as np
import pytest
import torch
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, image_data_cfg,
                     save_as_built_checkpoint, save_stock_video_checkpoint,
                     video_data_cfg, write_config)

from mmadaptformer.utils.device_choices import device_choices

ERROR = ': error: '  # after the program name, as argparse says it


@pytest.fixture(scope='module')
def image_model(tmp_path_factory, tiny_image_data):
    """The tiny image config, a full checkpoint of it and one whose head
    weights are NaN (as a diverged run would save them)."""
    root = tmp_path_factory.mktemp('infer_outputs')
    config = write_config(root / 'stripes.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    good = save_as_built_checkpoint(config, root / 'good.pth')
    ckpt = torch.load(good, weights_only=True)
    ckpt['state_dict']['head.fc.weight'][:] = float('nan')
    nan = str(root / 'nan.pth')
    torch.save(ckpt, nan)
    image = str(root / 'frame.png')
    cv2.imwrite(image, np.full((32, 32, 3), 90, np.uint8))
    return dict(config=config, good=good, nan=nan, image=image)


def _refusal(capsys) -> str:
    """argparse's one line on stderr, without the program name."""
    line = capsys.readouterr().err.strip().splitlines()[-1]
    return line.partition(ERROR)[2]


def _strict_json(text: str):
    """``json.loads`` that refuses ``NaN`` and ``Infinity``, as JSON
    parsers outside Python do."""

    def refuse(constant):
        raise ValueError(f'not JSON: {constant}')

    return json.loads(text, parse_constant=refuse)


def test_non_finite_scores_are_an_error_not_a_label(infer, image_model,
                                                    tmp_path, capsys,
                                                    clean_loggers):
    out = tmp_path / 'r.json'
    image = image_model['image']
    code = infer(
        [image_model['config'], image_model['nan'], image, '--out',
         str(out)])
    assert code == 1
    answer = _strict_json(out.read_text())[image]['stripes']
    assert set(answer) == {'error'}
    assert answer['error'].startswith(
        '2 of the 2 class scores are not finite (2 NaN, 0 inf)')
    assert f'{image}: stripes: ERROR 2 of the 2' in capsys.readouterr().out
    # The good checkpoint still answers with a label.
    assert infer(
        [image_model['config'], image_model['good'], image, '--out',
         str(out)]) == 0
    assert set(_strict_json(
        out.read_text())[image]['stripes']) == {'label', 'class', 'scores'}


def test_two_diverged_tasks_are_each_named_not_the_input(
        infer, image_model, tmp_path, capsys, clean_loggers):
    """Two tasks whose scores were both NaN gave the same error, which was
    reported as the input's (``{"error": ...}``), as if the image could not
    be read."""
    out = tmp_path / 'r.json'
    image = image_model['image']
    code = infer([
        '--task', 'a', image_model['config'], image_model['nan'], '--task',
        'b', image_model['config'], image_model['nan'], image, '--out',
        str(out)
    ])
    assert code == 1
    answer = _strict_json(out.read_text())[image]
    assert set(answer) == {'a', 'b'}, answer
    for task in 'ab':
        assert answer[task]['error'].startswith(
            '2 of the 2 class scores are not finite'), answer


@pytest.mark.parametrize('name, format_', [('r.pkl', 'a pickle'),
                                           ('r.PICKLE', 'a pickle'),
                                           ('r.yaml', 'YAML'),
                                           ('r.yml', 'YAML')])
def test_out_named_for_another_format_is_refused(infer, image_model, tmp_path,
                                                 capsys, name, format_):
    out = tmp_path / name
    with pytest.raises(SystemExit) as exit_:
        infer([
            image_model['config'], image_model['good'], image_model['image'],
            '--out',
            str(out)
        ])
    assert exit_.value.code == 2
    ext = name[name.index('.'):].lower()
    assert _refusal(capsys) == (
        f'--out {out}: the results are written as JSON, but '
        f'{ext!r} names {format_}; give a .json file (tools/test.py --dump '
        'writes the predictions as a pickle)')
    assert not out.exists()


@pytest.mark.parametrize('device', ['mps', 'meta'])
def test_device_this_machine_lacks_is_refused(infer, image_model, device,
                                              capsys):
    if device == 'mps' and torch.backends.mps.is_available():
        pytest.skip('this machine has an mps device')
    with pytest.raises(SystemExit) as exit_:
        infer([
            image_model['config'], image_model['good'], image_model['image'],
            '--device', device
        ])
    assert exit_.value.code == 2
    assert _refusal(capsys) == (
        f'--device {device}: this machine has no {device} device '
        f'that PyTorch can use; {device_choices("give")}')


def test_folder_of_videos_with_a_cover_image_answers_the_videos(
        infer, tiny_video_data, tmp_path, capsys, log_records):
    config = write_config(tmp_path / 'tiny.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    checkpoint = str(tmp_path / 'full.pth')
    save_stock_video_checkpoint(checkpoint)
    folder = tmp_path / 'clips'
    folder.mkdir()
    video = shutil.copy(f"{tiny_video_data['videos']}/val_0_0.mp4", folder)
    cv2.imwrite(str(folder / 'cover.jpg'), np.zeros((8, 8, 3), np.uint8))
    out = tmp_path / 'r.json'
    assert infer([config, checkpoint, str(folder), '--out', str(out)]) == 0
    assert list(json.loads(out.read_text())) == [video]
    assert f'{folder}: left out 1 image file, which these models do not ' \
        f'classify, e.g. {folder}/cover.jpg.' in [
            r.getMessage() for r in log_records]
    # Given by name, the image is still an error of its own.
    assert infer([config, checkpoint, str(folder / 'cover.jpg')]) == 1
    assert 'is an image' in capsys.readouterr().out


def test_a_gif_is_not_called_neither_a_video_nor_an_image(
        infer, image_model, tmp_path, capsys, clean_loggers):
    """It said ``anim.gif: is neither a video nor an image``; a GIF is an
    image, one this tool (and mmpretrain's folder datasets) do not take."""
    gif = tmp_path / 'anim.gif'
    gif.write_bytes(b'GIF89a')
    assert infer([image_model['config'], image_model['good'], str(gif)]) == 1
    assert f'{gif}: ERROR {gif}: is neither a video nor an image this tool ' \
        "reads (extension '.gif'), but this model classifies images; " \
        'expected one of .jpg,' in capsys.readouterr().out
