# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Fixtures shared by the multi-task tests."""
import pytest
from adapter_tasks import val_videos


@pytest.fixture(scope='session')
def video_tasks_alone(video_tasks, tiny_video_data):
    """The results on the validation videos (in batches of 4) of the tasks
    ``full``, ``last`` and ``last2`` of ``video_tasks``, each through its
    own ModelInferencer: ``{task: results}``, what an engine that serves
    them together must answer."""
    from mmadaptformer.apis import ModelInferencer
    videos = val_videos(tiny_video_data)
    out = {}
    for name in ('full', 'last', 'last2'):
        task = video_tasks[name]
        out[name] = ModelInferencer(task['config'], task['checkpoint'])(
            videos, batch_size=4)
    return out
