# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py --task`` with a rawframe task and a video task over a
folder of clip folders, videos and two videos that do not decode: each
task's line for the inputs it skipped counts those another task answered
apart from those that got an error. Before, the rawframe task's line read
``skipped 5 inputs ..., which another task answered`` although two of
them were errors of the video task."""
import json

import numpy as np
import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool,
                     save_as_built_checkpoint)
from test_apis.test_frame_folders import rawframe_config, write_frames

from mmadaptformer.testing import write_video


@pytest.fixture(scope='module')
def mixed(tmp_path_factory):
    """Two clip folders, three videos, a cut mp4 and an empty avi."""
    root = tmp_path_factory.mktemp('skipped_counts')
    raw = rawframe_config(root / 'rawframe.py')
    video = str(TINY_ADAPTFORMER_VIDEO_CONFIG)
    data = root / 'data'
    for seed, name in enumerate(('c1', 'c2')):
        write_frames(data / name, range(1, 13), seed=seed)
    rng = np.random.default_rng(0)
    for name in ('z1', 'z2', 'z3'):
        write_video(
            str(data / f'{name}.mp4'),
            rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8))
    (data / 'bad.mp4').write_bytes((data / 'z1.mp4').read_bytes()[:300])
    (data / 'empty.avi').write_bytes(b'')
    return dict(
        root=str(root),
        data=str(data),
        tasks=[
            '--task', 'rf', raw,
            save_as_built_checkpoint(raw, root / 'raw.pth'), '--task', 'v',
            video,
            save_as_built_checkpoint(video, root / 'vid.pth')
        ])


def test_skips_count_answered_and_errors_apart(mixed):
    out = f'{mixed["root"]}/r.json'
    proc = run_tool(
        ['infer.py'] + mixed['tasks'] + [mixed['data'], '--out', out],
        cwd=mixed['root'],
        check=False,
        separate_stderr=True)
    # The two videos that do not decode are errors.
    assert proc.returncode == 1, proc.stderr
    results = json.loads(open(out).read())
    data = mixed['data']
    for name in ('bad.mp4', 'empty.avi'):
        assert set(results[f'{data}/{name}']['v']) == {'error'}
        assert set(results[f'{data}/{name}']['rf']) == {'skipped'}
    lines = {
        line.split(':', 1)[0]: line
        for line in proc.stderr.splitlines() if ': skipped ' in line
    }
    assert set(lines) == {'task rf', 'task v'}, proc.stderr
    assert lines['task rf'].startswith(
        'task rf: skipped 5 inputs of a kind its test pipeline does not '
        'read, which another task took (3 answered, 2 with an error): e.g. '
        f'{data}/bad.mp4: '), lines
    # Guard of kept behaviour: every clip folder was answered by rf.
    assert lines['task v'].startswith(
        'task v: skipped 2 inputs of a kind its test pipeline does not '
        f'read, which another task answered: e.g. {data}/c1: '), lines
