# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/infer.py in a pipe: stdout holds the results alone. MMEngine's
log lines (a folder's left-out files, the videos shorter than a clip,
``"FileClient" will be deprecated``) were printed to stdout between the
result lines, so ``infer.py ... > results.txt`` or ``| grep`` got them
too; and ``--out -`` was refused, with the JSON only ever in a file."""
import json
import os
import os.path as osp
import re
import shutil

import cv2
import numpy as np
import pytest
from helpers import (TINY_VIDEO_CONFIG, run_tool, save_stock_video_checkpoint,
                     video_data_cfg, write_config)

# ``PATH: TASK: CLASS (score), CLASS (score)``, as infer.py prints it.
RESULT = r'{path}: tiny: \S+ \(\d\.\d{{4}}\)(, \S+ \(\d\.\d{{4}}\))*'


@pytest.fixture(scope='module')
def model(tmp_path_factory, tiny_video_data):
    """The tiny video config, a full checkpoint of it, and a folder of two
    videos, one shorter than a clip and a cover image (each of which is
    a warning of MMEngine's logger)."""
    from mmadaptformer.testing import write_video
    root = tmp_path_factory.mktemp('infer_stdout')
    config = write_config(root / 'tiny.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    checkpoint = str(root / 'full.pth')
    save_stock_video_checkpoint(checkpoint)
    clips = root / 'clips'
    clips.mkdir()
    name = sorted(os.listdir(tiny_video_data['videos']))[0]
    shutil.copy(osp.join(tiny_video_data['videos'], name), clips / 'a.mp4')
    write_video(
        str(clips / 'b_short.mp4'),
        np.random.default_rng(0).integers(
            0, 256, (3, 32, 32, 3), dtype=np.uint8))
    cv2.imwrite(str(clips / 'cover.jpg'), np.zeros((32, 32, 3), np.uint8))
    return dict(
        config=config,
        checkpoint=checkpoint,
        clips=str(clips),
        videos=[str(clips / 'a.mp4'),
                str(clips / 'b_short.mp4')])


def test_stdout_holds_the_result_lines_alone(model, tmp_path):
    proc = run_tool([
        'infer.py', model['config'], model['checkpoint'], model['clips'],
        '--out', 'r.json'
    ],
                    cwd=tmp_path,
                    separate_stderr=True)
    lines = proc.stdout.splitlines()
    assert len(lines) == 2, proc.stdout
    for line, path in zip(lines, model['videos']):
        assert re.fullmatch(RESULT.format(path=re.escape(path)), line), line
    # The log lines, the run's notes and its report go to stderr.
    assert re.search(r'mmengine - WARNING - .*left out 1 image file,',
                     proc.stderr), proc.stderr
    assert 'classified 1 video shorter than a clip' in proc.stderr
    assert 'Results of 2 inputs written to r.json' in proc.stderr
    assert list(json.loads((tmp_path / 'r.json').read_text())) == \
        model['videos']


def test_out_dash_writes_the_json_alone_to_stdout(model, tmp_path):
    """``--out -``: one JSON document on stdout (``| jq`` reads it), no
    result lines, no file named ``-``; an input that failed is said on
    stderr too, with exit status 1, as with a file."""
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'not a video')
    proc = run_tool([
        'infer.py', model['config'], model['checkpoint'], model['clips'],
        str(broken), '--out', '-'
    ],
                    cwd=tmp_path,
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 1, proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    assert list(results) == model['videos'] + [str(broken)]
    for path in model['videos']:
        assert len(results[path]['tiny']['scores']) == 2
    assert results[str(broken)]['error'].startswith(str(broken))
    assert f'{broken}: ERROR {broken}' in proc.stderr
    assert 'mmengine - WARNING' in proc.stderr
    assert not (tmp_path / '-').exists()


@pytest.mark.parametrize('pretrained', [False, True], ids=['config', 'flag'])
def test_an_adapter_only_checkpoint_keeps_stdout_to_the_results(
        video_tasks, model, tmp_path, pretrained):
    """The frozen backbone of an adapter-only checkpoint is read from its
    pretrained file. The check of that file, before the model loads it,
    read it with MMEngine's ``_load_checkpoint``, which ``print``s ``Loads
    checkpoint by local backend from path: ...`` to stdout: the first line
    of ``--out -``'s JSON (``json.tool``: ``Expecting value``)."""
    task = video_tasks['full']
    args = [
        'infer.py', task['config'], task['checkpoint'], model['videos'][0],
        '--out', '-'
    ]
    if pretrained:
        args += ['--pretrained', video_tasks['stock']]
    proc = run_tool(args, cwd=tmp_path, separate_stderr=True)
    assert 'Loads checkpoint' not in proc.stdout
    results = json.loads(proc.stdout)
    assert list(results) == model['videos'][:1]
    assert len(results[model['videos'][0]]['full']['scores']) == 2
    # The load itself (MMEngine's ``PretrainedInit``) is still logged, on
    # stderr.
    assert proc.stderr.count(
        f'load backbone. in model from: {video_tasks["stock"]}') == 1
