# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``add_task`` reads a task's files outside the locks, but what sets
MMEngine's default scope in that read (the test pipeline, the check of the
model's config) waits for :data:`SCOPE_LOCK`: another thread may hold it
while it builds a model of the other toolbox."""
import threading
import time

from mmengine.registry import DefaultScope, init_default_scope

from mmadaptformer.apis import MultiTaskRecognizer
from mmadaptformer.utils.default_scope_lock import SCOPE_LOCK


def _scope() -> str:
    return DefaultScope.get_current_instance().scope_name


def test_a_second_task_read_leaves_the_scope_to_the_lock_holder(
        video_tasks, clean_loggers):
    """Before, the read of a second task of a loaded pipeline group checked
    its model config without the lock and set the scope to ``mmaction`` in
    the middle of the holder's ``mmpretrain`` build (``KeyError:
    'LinearClsHead is not in the mmaction::model registry'``, seen 20 of
    30 times with two threads)."""
    full, last = video_tasks['full'], video_tasks['last']
    engine = MultiTaskRecognizer()
    engine.add_task('full', full['config'], full['checkpoint'])
    outcome = []

    def add():
        try:
            engine.add_task('last', last['config'], last['checkpoint'])
            outcome.append(None)
        except Exception as e:  # noqa: B902 -- asserted by the test
            outcome.append(e)

    thread = threading.Thread(target=add, daemon=True)
    with SCOPE_LOCK:
        # An image model's build in another thread, as init_model does it.
        init_default_scope('mmpretrain')
        thread.start()
        scopes = set()
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and thread.is_alive():
            scopes.add(_scope())
            if scopes != {'mmpretrain'}:
                break
            time.sleep(0.01)
        assert scopes == {'mmpretrain'}, scopes
    thread.join(60)
    assert outcome == [None]
    assert engine.tasks == ['full', 'last']
