# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/infer.py --task: each input's answers in the --task order, a task
that could not be loaded included, and that task's advice."""
import json
import os.path as osp

import pytest
from adapter_tasks import val_videos
from tool_runners import run_tool


@pytest.fixture(scope='module')
def bad_first(video_tasks, tiny_video_data, tmp_path_factory):
    """The first --task fails to load (adapters of another backbone on the
    stock one its config names); two others load."""
    full, last = video_tasks['full'], video_tasks['last']
    videos = val_videos(tiny_video_data, 2)
    proc = run_tool([
        'infer.py', '--task', 'bad', full['config'],
        video_tasks['other']['checkpoint'], '--task', 'last', last['config'],
        last['checkpoint'], '--task', 'full', full['config'],
        full['checkpoint'], *videos, '--out', '-'
    ],
                    cwd=str(tmp_path_factory.mktemp('bad_first')),
                    check=False,
                    separate_stderr=True)
    return proc, videos


def test_a_task_that_failed_to_load_keeps_its_task_order(bad_first):
    """Its error stays first in each input's answers, as docs/multitask.md
    says ("in tools/infer.py, the --task order"). Before, the failed task
    came after every loaded one."""
    proc, videos = bad_first
    assert proc.returncode == 1, proc.stderr
    results = json.loads(proc.stdout)
    for video in videos:
        assert list(results[video]) == ['bad', 'last', 'full']
        assert 'frozen' in results[video]['bad']['error']
        assert set(results[video]['full']) == {'label', 'class', 'scores'}


def test_a_task_of_another_backbone_is_sent_to_a_run_of_its_own(
        bad_first, video_tasks):
    """Its advice is a run of its own with the backbone it was trained on.
    Before, it was "On the command line: --pretrained FILE", which names
    the backbone of every --task: followed, it would have refused the two
    tasks that loaded."""
    proc, videos = bad_first
    other = osp.join(video_tasks['root'], 'other.pth')
    config = video_tasks['full']['config']
    checkpoint = video_tasks['other']['checkpoint']
    error = json.loads(proc.stdout)[videos[0]]['bad']['error']
    assert 'On the command line' not in error
    assert ('Every --task is served on one frozen backbone, which '
            '--pretrained names for all of them: serve this task in a run '
            'of its own, tools/infer.py '
            f'{config} {checkpoint} INPUT ... --pretrained {other}.') in error
    assert f'task bad: ERROR {error}' in proc.stderr
