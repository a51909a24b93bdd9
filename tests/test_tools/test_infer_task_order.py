# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/infer.py --task: each input's answers in the --task order, a task
that could not be loaded included."""
import json

from adapter_tasks import val_videos
from tool_runners import run_tool


def test_a_task_that_failed_to_load_keeps_its_task_order(
        video_tasks, tiny_video_data, tmp_path):
    """The first --task fails to load (adapters of another backbone on the
    stock one its config names); its error stays first in each input's
    answers, as docs/multitask.md says ("in tools/infer.py, the --task
    order"). Before, the failed task came after every loaded one."""
    full, last = video_tasks['full'], video_tasks['last']
    videos = val_videos(tiny_video_data, 2)
    proc = run_tool([
        'infer.py', '--task', 'bad', full['config'],
        video_tasks['other']['checkpoint'], '--task', 'last', last['config'],
        last['checkpoint'], '--task', 'full', full['config'],
        full['checkpoint'], *videos, '--out', '-'
    ],
                    cwd=str(tmp_path),
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 1, proc.stderr
    results = json.loads(proc.stdout)
    for video in videos:
        assert list(results[video]) == ['bad', 'last', 'full']
        assert 'frozen' in results[video]['bad']['error']
        assert set(results[video]['full']) == {'label', 'class', 'scores'}
