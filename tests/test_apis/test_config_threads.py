# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Configs read by two threads at once: MMEngine's ``Config.fromfile`` of a
config with an ``mmaction::`` base asks pkg_resources whether the package
is installed, which is not thread-safe, so every config read of the process
takes one lock (``utils/config_read_lock.py``); ``init_model`` and
``add_task`` read theirs through it."""
import threading

from thread_helpers import in_two_threads

from mmadaptformer.apis import MultiTaskRecognizer, init_model

#: Reads per thread: about one read in seven of two threads reading at once
#: failed, so 2 x 12 all but always met one before.
READS = 12


def test_two_threads_init_models_at_once(video_tasks, clean_loggers):
    """Before (until the scope lock, now the config read lock), each thread
    read the config outside a lock: ``TypeError: 'DistInfoDistribution'
    object is not iterable`` now and then."""
    task = video_tasks['last']

    def read(_):
        init_model(task['config'], task['checkpoint'])

    assert in_two_threads(read, READS) == []


def test_two_threads_add_tasks_at_once(video_tasks, clean_loggers):
    """Guards kept behaviour: ``add_task`` now reads its config before it
    takes the engine's lock (before, it held both locks throughout), under
    the config read lock alone; read without a lock, 7 of the 24 adds of one
    run failed with that ``TypeError`` (a ``TaskLoadError`` naming it)."""
    task = video_tasks['last']
    engine = MultiTaskRecognizer()
    engine.add_task('first', task['config'], task['checkpoint'])
    names = []

    def read(index):
        name = f'{threading.get_ident()}-{index}'
        engine.add_task(name, task['config'], task['checkpoint'])
        names.append(name)

    assert in_two_threads(read, READS) == []
    assert sorted(engine.tasks) == sorted(['first'] + names)
