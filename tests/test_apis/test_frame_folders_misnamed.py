# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A folder of clip folders given to a rawframe model (``rawframes/``) in
which some clips' frames are named otherwise than the test set's
``filename_tmpl`` names them (extracted as ``img_00001.png``, or
``IMG_00001.JPG`` from a camera's tool) says what it left out.

Before, :meth:`~mmadaptformer.apis.frame_folders.FrameFolders.collect`
(``tools/infer.py``, ``ModelInferencer``, a ``MultiTaskRecognizer`` whose
tasks read frames of one naming) classified the clips it recognised and
dropped the others without a word: a run over half-misnamed frames
answered half the clips and exited 0, while a video folder's files of no
known kind, and a mixed folder's misnamed frames, were warned of."""
import json
import logging

import pytest
from checkpoint_makers import save_as_built_checkpoint
from test_frame_folders import rawframe_config, write_frames
from tool_runners import run_tool

from mmadaptformer.apis import ModelInferencer


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    """The tiny rawframe config, a random full checkpoint of it, and its
    inferencer."""
    root = tmp_path_factory.mktemp('misnamed_frames')
    config = rawframe_config(root / 'rawframe.py')
    checkpoint = save_as_built_checkpoint(config, root / 'model.pth')
    return dict(
        config=config,
        checkpoint=checkpoint,
        inferencer=ModelInferencer(config, checkpoint))


def _warning(root, first):
    return (f'{root}: left out 3 image files outside clip folders, e.g. '
            f'{first}: a clip folder holds frames named as filename_tmpl '
            "'img_{:05}.jpg' from ")


def test_misnamed_clip_folders_are_said(model, tmp_path, log_records):
    root = tmp_path / 'rawframes'
    good, _ = write_frames(root / 'good', range(1, 11))
    write_frames(root / 'png', range(1, 3), template='img_{:05}.png')
    write_frames(root / 'upper', range(1, 2), template='IMG_{:05}.JPG')
    results = model['inferencer'](str(root))
    assert list(results) == [good]
    warnings = [
        r.getMessage() for r in log_records if r.levelno == logging.WARNING
        and 'outside clip folders' in r.getMessage()
    ]
    assert len(warnings) == 1, [r.getMessage() for r in log_records]
    assert warnings[0].startswith(
        _warning(root, root / 'png' / 'img_00001.png')), warnings
    assert warnings[0].endswith(
        'rawframe.py: test_dataloader.dataset, start_index 1 gives them '
        '(img_00001.jpg, ...).')


def test_infer_says_the_misnamed_clips_it_left_out(model, tmp_path):
    root = tmp_path / 'rawframes'
    good, _ = write_frames(root / 'good', range(1, 11))
    write_frames(root / 'png', range(1, 4), template='img_{:05}.png')
    out = tmp_path / 'r.json'
    proc = run_tool(
        ['infer.py', model['config'], model['checkpoint'], root, '--out', out],
        cwd=str(tmp_path),
        separate_stderr=True)
    assert list(json.loads(out.read_text())) == [good]
    assert _warning(root, root / 'png' / 'img_00001.png') in \
        ' '.join(proc.stderr.split()), proc.stderr
