# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/infer.py --task: the first task's config's pretrained file builds
the shared backbone, so a task whose file is missing fails when given
first and is served when given after a task whose file is there; its
error says so."""
import json

import pytest
from adapter_tasks import val_videos
from config_writers import write_config
from tool_runners import run_tool


@pytest.fixture(scope='module')
def missing_file_task(video_tasks, tmp_path_factory):
    """The task ``last`` with a config whose pretrained file is not
    there."""
    root = tmp_path_factory.mktemp('missing_file_task')
    config = write_config(
        str(root / 'last_missing.py'), video_tasks['last']['config'],
        'model = dict(backbone=dict(backbone=dict(init_cfg=dict(checkpoint='
        f"{str(root / 'missing.pth')!r}))))\n")
    return config, video_tasks['last']['checkpoint']


def _run(tasks, videos, cwd):
    args = ['infer.py']
    for name, config, checkpoint in tasks:
        args += ['--task', name, config, checkpoint]
    return run_tool([*args, *videos, '--out', '-'],
                    cwd=str(cwd),
                    check=False,
                    separate_stderr=True)


def test_the_first_tasks_missing_file_says_the_order_matters(
        missing_file_task, video_tasks, tiny_video_data, tmp_path):
    """Before, the error named the missing file alone, and the same
    command with the two --task swapped answered both tasks."""
    config, checkpoint = missing_file_task
    full = video_tasks['full']
    videos = val_videos(tiny_video_data, 1)
    first = _run([('lastm', config, checkpoint),
                  ('full', full['config'], full['checkpoint'])], videos,
                 tmp_path)
    assert first.returncode == 1, first.stderr
    error = json.loads(first.stdout)[videos[0]]['lastm']['error']
    assert 'missing.pth' in error
    assert ('As the first --task loaded, its config\'s pretrained file '
            'builds the one frozen backbone every task runs on') in error
    assert 'give first a --task whose pretrained file is there.' in error
    later = _run([('full', full['config'], full['checkpoint']),
                  ('lastm', config, checkpoint)], videos, tmp_path)
    assert later.returncode == 0, later.stderr
    assert 'scores' in json.loads(later.stdout)[videos[0]]['lastm']
    # One --task alone: nothing to reorder, no such advice.
    alone = _run([('lastm', config, checkpoint)], videos, tmp_path)
    assert alone.returncode == 1
    assert 'As the first --task' not in alone.stdout + alone.stderr
