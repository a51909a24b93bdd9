# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Configs read by two threads at once: MMEngine's ``Config.fromfile`` of a
config with an ``mmaction::`` base asks pkg_resources whether the package
is installed, which is not thread-safe, so ``init_model`` and ``add_task``
read a config under the process-wide scope lock."""
import threading

from mmadaptformer.apis import MultiTaskRecognizer, init_model

#: Reads per thread: about one read in seven of two threads reading at once
#: failed, so 2 x 12 all but always met one before.
READS = 12


def _in_two_threads(read) -> list:
    """Run ``read`` ``READS`` times in each of two threads started
    together; what each call raised."""
    start, errors = threading.Barrier(2), []

    def run():
        start.wait()
        for index in range(READS):
            try:
                read(index)
            except Exception as e:  # noqa: B902 -- asserted by the test
                errors.append(e)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return errors


def test_two_threads_init_models_at_once(video_tasks, clean_loggers):
    """Before, each thread read the config outside the lock: ``TypeError:
    'DistInfoDistribution' object is not iterable`` now and then."""
    task = video_tasks['last']

    def read(_):
        init_model(task['config'], task['checkpoint'])

    assert _in_two_threads(read) == []


def test_two_threads_add_tasks_at_once(video_tasks, clean_loggers):
    """Guards kept behaviour: ``add_task`` now reads its config before it
    takes the engine's lock (before, it held both locks throughout), and
    still under the scope lock; read without it, 7 of the 24 adds of one run
    failed with that ``TypeError`` (a ``TaskLoadError`` naming it)."""
    task = video_tasks['last']
    engine = MultiTaskRecognizer()
    engine.add_task('first', task['config'], task['checkpoint'])
    names = []

    def read(index):
        name = f'{threading.get_ident()}-{index}'
        engine.add_task(name, task['config'], task['checkpoint'])
        names.append(name)

    assert _in_two_threads(read) == []
    assert sorted(engine.tasks) == sorted(['first'] + names)
