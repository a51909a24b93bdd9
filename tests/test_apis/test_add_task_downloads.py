# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A task's checkpoint downloaded by ``add_task`` in one thread does not
hold the calls of the same engine (on its loaded tasks) or of other
inferencers: the locks are taken once it is read, and what depends on the
tasks loaded is checked again then. A real 127.0.0.1 server holds each
answer until the test releases it (at most 20 s, ``slow_server.HOLD``)."""
import threading

import pytest
from adapter_tasks import val_videos
from file_server import serving
from slow_server import HOLD, slow_server
from task_engines import assert_task_scores

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, TaskError
from mmadaptformer.utils import checkpoint_schemes


@pytest.fixture
def slow(tmp_path, monkeypatch):
    """A :class:`~slow_server.SlowServer` over an empty folder, and the
    download caches in ``tmp_path``."""
    return slow_server(tmp_path, monkeypatch)


def _serve(slow, checkpoint, name):
    return slow.serve(checkpoint, name)


def _adding(engine, name, config, url, outcome, order):
    """A thread that adds a task and records how it went."""

    def add():
        try:
            engine.add_task(name, config, url)
            outcome.append((name, None))
        except Exception as e:  # noqa: B902 -- asserted by the test
            outcome.append((name, e))
        order.append(f'added {name}')

    return threading.Thread(target=add, daemon=True)


def test_loaded_tasks_and_other_inferencers_answer_while_a_task_downloads(
        video_tasks, tiny_video_data, slow, clean_loggers):
    """Before, ``add_task`` held the engine's lock and the scope lock while
    it downloaded: the engine's call and the other inferencer's waited for
    the download (20 s), so the add ended first."""
    full, last = video_tasks['full'], video_tasks['last']
    videos = val_videos(tiny_video_data, 2)
    engine = MultiTaskRecognizer()
    engine.add_task('full', full['config'], full['checkpoint'])
    alone = ModelInferencer(last['config'], last['checkpoint'], name='last')
    expected, expected_alone = engine(videos), alone(videos)
    file = _serve(slow, last['checkpoint'], 'last.pth')
    outcome, order = [], []
    with serving(slow.root, slow.handler) as httpd:
        thread = _adding(engine, 'last', last['config'], f'{httpd.url}/{file}',
                         outcome, order)
        thread.start()
        try:
            assert slow.wait_requests(1, 60), 'never requested'
            answer = engine(videos)
            answer_alone = alone(videos)
            order.append('answered')
        finally:
            slow.release()
            thread.join(60)
    assert outcome == [('last', None)]
    assert order == ['answered', 'added last']
    assert answer == expected and answer_alone == expected_alone
    assert engine.tasks == ['full', 'last']
    results = engine(videos)
    assert_task_scores(results, expected, 'full', videos)
    assert_task_scores(results, expected_alone, 'last', videos)


def test_two_adds_of_one_name_at_once_one_is_refused(video_tasks,
                                                     tiny_video_data, slow,
                                                     clean_loggers):
    """Both checkpoints are read at once (before, the second add waited for
    the first, then was refused without a read); the second to take the
    lock is refused by name as a sequential one is, and leaves the first
    one's task as it was."""
    full, last = video_tasks['full'], video_tasks['last']
    videos = val_videos(tiny_video_data, 2)
    engine = MultiTaskRecognizer()
    engine.add_task('full', full['config'], full['checkpoint'])
    alone = ModelInferencer(last['config'], last['checkpoint'], name='last')
    expected = alone(videos)
    files = [_serve(slow, last['checkpoint'], f'last{i}.pth') for i in (1, 2)]
    outcome, order = [], []
    with serving(slow.root, slow.handler) as httpd:
        threads = [
            _adding(engine, 'last', last['config'], f'{httpd.url}/{file}',
                    outcome, order) for file in files
        ]
        for thread in threads:
            thread.start()
        try:
            both_read = slow.wait_requests(2, HOLD)
        finally:
            slow.release()
            for thread in threads:
                thread.join(60)
    assert both_read, 'the second add did not read while the first did'
    errors = [e for _, e in outcome if e is not None]
    assert len(outcome) == 2 and len(errors) == 1
    assert type(errors[0]) is TaskError
    assert "Task 'last' is already loaded" in str(errors[0])
    assert engine.tasks == ['full', 'last']
    assert_task_scores(engine(videos), expected, 'last', videos)


def test_the_first_task_removed_while_another_downloads(
        video_tasks, tiny_video_data, slow, clean_loggers):
    """The engine is empty when the task attaches: it becomes the first
    task (its model the shared backbone) and answers as alone. Before,
    ``remove_task`` waited for the download, so the add ended first."""
    full, last = video_tasks['full'], video_tasks['last']
    videos = val_videos(tiny_video_data, 2)
    engine = MultiTaskRecognizer()
    engine.add_task('full', full['config'], full['checkpoint'])
    alone = ModelInferencer(last['config'], last['checkpoint'], name='last')
    expected = alone(videos)
    file = _serve(slow, last['checkpoint'], 'last.pth')
    outcome, order = [], []
    with serving(slow.root, slow.handler) as httpd:
        thread = _adding(engine, 'last', last['config'], f'{httpd.url}/{file}',
                         outcome, order)
        thread.start()
        try:
            assert slow.wait_requests(1, 60), 'never requested'
            engine.remove_task('full')
            order.append('removed full')
            assert engine.tasks == []
        finally:
            slow.release()
            thread.join(60)
    assert outcome == [('last', None)]
    assert order == ['removed full', 'added last']
    assert engine.tasks == ['last']
    assert_task_scores(engine(videos), expected, 'last', videos)


def test_a_task_of_another_model_than_a_first_task_added_meanwhile(
        video_tasks, tiny_video_data, slow, tmp_path, clean_loggers):
    """The engine was empty when the read began, so nothing was compared
    then; a first task added during the download is compared with under
    the lock, and the refusal leaves it as it was. Before, the first add
    waited for the download: the other model became the first task, and
    ``full`` was the one refused."""
    full = video_tasks['full']
    videos = val_videos(tiny_video_data, 2)
    odd = tmp_path / 'odd.py'
    odd.write_text(f"_base_ = [{full['config']!r}]\n"
                   'model = dict(backbone=dict(backbone=dict('
                   'drop_path_rate=0.05)))\n')
    alone = ModelInferencer(full['config'], full['checkpoint'], name='full')
    expected = alone(videos)
    file = _serve(slow, full['checkpoint'], 'odd.pth')
    engine = MultiTaskRecognizer()
    outcome, order = [], []
    with serving(slow.root, slow.handler) as httpd:
        thread = _adding(engine, 'odd', str(odd), f'{httpd.url}/{file}',
                         outcome, order)
        thread.start()
        try:
            assert slow.wait_requests(1, 60), 'never requested'
            engine.add_task('full', full['config'], full['checkpoint'])
            order.append('added full')
        finally:
            slow.release()
            thread.join(60)
    assert order == ['added full', 'added odd']
    [(name, error)] = outcome
    assert type(error) is TaskError, error
    assert "Task 'odd'" in str(error)
    assert "has another model than task 'full'" in str(error)
    assert 'drop_path_rate: 0.05 vs' in str(error)
    assert engine.tasks == ['full']
    assert_task_scores(engine(videos), expected, 'full', videos)


def test_an_inferencer_answers_while_the_first_tasks_backbone_downloads(
        video_tasks, tiny_video_data, slow, tmp_path, monkeypatch,
        clean_loggers):
    """The first task's adapter-only checkpoint leaves its frozen backbone
    out, and its config names the pretrained file by address. Before, that
    file was read under the locks (as the load reads it, in
    ``init_host``): the other inferencer's call waited for it (20 s). It is
    read once: the load under the lock gets what was read before it."""
    full = video_tasks['full']
    videos = val_videos(tiny_video_data, 2)
    file = _serve(slow, video_tasks['stock'], 'stock.pth')
    other = ModelInferencer(full['config'], full['checkpoint'], name='full')
    expected = other(videos)
    loads = []
    load_forced = checkpoint_schemes.load_forced

    def counted(loader, filename, *args, **kwargs):
        loads.append(str(filename))
        return load_forced(loader, filename, *args, **kwargs)

    monkeypatch.setattr(checkpoint_schemes, 'load_forced', counted)
    engine = MultiTaskRecognizer()
    outcome, order = [], []
    with serving(slow.root, slow.handler) as httpd:
        remote = tmp_path / 'remote.py'
        remote.write_text(
            f"_base_ = [{full['config']!r}]\n"
            'model = dict(backbone=dict(backbone=dict(init_cfg=dict('
            f"checkpoint='{httpd.url}/{file}'))))\n")
        thread = _adding(engine, 'full', str(remote), full['checkpoint'],
                         outcome, order)
        thread.start()
        try:
            assert slow.wait_requests(1, 60), 'never requested'
            answer = other(videos)
            order.append('answered')
        finally:
            slow.release()
            thread.join(60)
    assert outcome == [('full', None)]
    assert order == ['answered', 'added full']
    assert answer == expected
    assert slow.requests == 1
    assert loads.count(f'{httpd.url}/{file}') == 1, loads
    assert_task_scores(engine(videos), expected, 'full', videos)
