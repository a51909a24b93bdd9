# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The tasks a call chooses, and what a task needs to be added."""

import pytest
from adapter_tasks import random_task_checkpoints, val_videos
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, video_data_cfg, write_config
from mmengine.config import Config

from mmadaptformer.apis import MultiTaskRecognizer, TaskError, TestInputs


def test_one_task_name_is_one_task_not_its_letters(tiny_video_data, tmp_path,
                                                   clean_loggers):
    """``tasks='ab'`` chose tasks ``a`` and ``b`` (its letters), and
    ``tasks='last'`` failed with ``Unknown tasks ['l', 'a', 's', 't']``:
    a string is one task name, in calls and in ``predict``."""
    config = write_config(tmp_path / 'a.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    checkpoints = random_task_checkpoints(config, 'mmaction', tmp_path)
    engine = MultiTaskRecognizer()
    for name, checkpoint in zip(('a', 'b', 'ab'), checkpoints + checkpoints):
        engine.add_task(name, config, checkpoint)
    video = val_videos(tiny_video_data, 1)[0]
    both = engine(video, tasks=['a', 'b'])
    assert list(engine(video, tasks='ab')[video]) == ['ab']
    assert engine(video, tasks='a')[video] == dict(a=both[video]['a'])
    engine.remove_task('ab')
    with pytest.raises(KeyError, match=r"Unknown tasks \['ab'\]"):
        engine(video, tasks='ab')
    data = [TestInputs(Config.fromfile(config))(video)]
    assert list(engine.predict(data, tasks='b')) == ['b']
    with pytest.raises(KeyError, match=r"Unknown tasks \['ab'\]"):
        engine.predict(data, tasks='ab')
    # No task: predict() said 'Tasks [] have different test pipelines'.
    with pytest.raises(ValueError, match=r'tasks=\[\] chooses no task'):
        engine.predict(data, tasks=[])


def test_a_task_without_a_checkpoint_is_refused(tiny_video_data, tmp_path,
                                                clean_loggers):
    """``add_task('a', config)`` served a random head and adapters on a
    random (not even the pretrained) backbone: scores that changed from run
    to run."""
    config = write_config(tmp_path / 'a.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    engine = MultiTaskRecognizer()
    for call in (lambda: engine.add_task('a', config),
                 lambda: engine.add_task('a', config, None)):
        with pytest.raises(TaskError) as error:
            call()
        assert str(error.value) == (
            "Task 'a': add_task got no checkpoint; give the task's trained "
            'checkpoint (a full, merged or adapter-only .pth file, or an '
            'http(s):// address) as checkpoint=. Without one its head and '
            'adapters are random and the backbone is not even the '
            'pretrained one.')
    assert engine.tasks == []


@pytest.mark.parametrize('tasks', [3, b'a'])
def test_a_task_choice_that_is_no_name_nor_list_is_named(tasks):
    """``tasks=3`` raised ``'int' object is not iterable``, naming
    neither the argument nor what it takes."""
    with pytest.raises(
            TypeError,
            match=rf'^tasks={tasks!r}: expected a task name, a list of '
            r'them, or None for all; the loaded tasks are \[\]\.$'):
        MultiTaskRecognizer().chosen_tasks(tasks)


def test_a_duplicate_task_name_names_the_loaded_task(tiny_video_data, tmp_path,
                                                     clean_loggers):
    """A second task of a loaded name is refused naming what is loaded
    under it and how to replace it (before: only 'is already loaded'), and
    the loaded task still answers as before."""
    config = write_config(tmp_path / 'a.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    first, second = random_task_checkpoints(config, 'mmaction', tmp_path)
    engine = MultiTaskRecognizer()
    engine.add_task('a', config, first)
    video = val_videos(tiny_video_data, 1)[0]
    before = engine(video)
    with pytest.raises(TaskError) as info:
        engine.add_task('a', config, second)
    assert str(info.value) == (
        f"Task 'a' is already loaded ({config}, {first}); the results are "
        'keyed by task name, so give this one another name, or '
        "remove_task('a') first to replace it.")
    assert engine.tasks == ['a'] and engine(video) == before
    engine.remove_task('a')
    engine.add_task('a', config, second)
    assert engine(video) != before


@pytest.mark.parametrize('tasks, said', [((), '()'), ([], '[]'),
                                         (set(), 'set()')])
def test_an_empty_task_choice_names_what_was_given(tasks, said):
    """``tasks=()`` was refused as ``tasks=[] chooses no task``, a value
    not given."""
    with pytest.raises(ValueError) as error:
        MultiTaskRecognizer().chosen_tasks(tasks)
    assert str(error.value).startswith(f'tasks={said} chooses no task; ')
