# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The pretrained backbone that an adapter-only checkpoint leaves out is
downloaded without a lock, once, by ``add_task`` and ``init_model`` (a
``ModelInferencer`` being built): a download that fails is not tried again
under the locks (every other call would wait for it), and an engine emptied
while a task reads its files reads that task's backbone before the locks
too. A real 127.0.0.1 server holds each answer until the test releases it
(at most 20 s, ``slow_server.HOLD``)."""
import threading

import pytest
from adapter_tasks import val_videos
from file_server import serving
from slow_server import SlowServer, slow_server
from task_engines import assert_task_scores

from mmadaptformer.apis import (ModelInferencer, MultiTaskRecognizer,
                                PretrainedLoadError, TaskLoadError)

KEY = 'model.backbone.backbone.init_cfg.checkpoint'


@pytest.fixture
def slow(tmp_path, monkeypatch):
    """A :class:`~slow_server.SlowServer` over an empty folder, and the
    download caches in ``tmp_path``."""
    return slow_server(tmp_path, monkeypatch)


def _remote_config(path, config, url):
    """``config`` with its frozen backbone's pretrained file at ``url``."""
    path.write_text(f'_base_ = [{config!r}]\n'
                    'model = dict(backbone=dict(backbone=dict(init_cfg=dict('
                    f'checkpoint={url!r}))))\n')
    return str(path)


def _in_thread(call, outcome, order, done):
    """A thread that runs ``call`` and records how it went."""

    def run():
        try:
            outcome.append(call())
        except Exception as e:  # noqa: B902 -- asserted by the test
            outcome.append(e)
        order.append(done)

    return threading.Thread(target=run, daemon=True)


def _answer_while_read(slow, thread, answer, order):
    """Start ``thread``; once it requested a file, ``answer()`` (which
    takes the locks); then let the server answer. What ``answer`` gave."""
    thread.start()
    try:
        assert slow.wait_requests(1, 60), 'never requested'
        answered = answer()
        order.append('answered')
    finally:
        slow.release()
        thread.join(60)
    return answered


def _assert_pretrained_error(error, url, checkpoint):
    """The error names the pretrained file, its config key and the
    checkpoint, and says what failed, as it always did."""
    assert type(error) is PretrainedLoadError, error
    assert (error.path, error.key) == (url, KEY)
    assert str(error).startswith(
        f'{url} ({KEY}), the pretrained weights of the frozen backbone, '
        f'which {checkpoint} leaves out, could not be loaded: ')
    assert str(error).endswith(
        f'{type(error.__cause__).__name__}: {error.__cause__}')


@pytest.mark.parametrize('served', ['missing', 'not a checkpoint'])
def test_a_failed_backbone_download_of_a_first_task_is_not_repeated(
        video_tasks, tiny_video_data, slow, tmp_path, served, clean_loggers):
    """Before, the pretrained file was read once before the locks and, that
    read having failed, again in the load under them: two requests, the
    second one holding every other call for as long as it took."""
    full = video_tasks['full']
    videos = val_videos(tiny_video_data, 2)
    if served == 'not a checkpoint':
        (slow.root / 'stock.pth').write_bytes(b'not a checkpoint\n' * 64)
    other = ModelInferencer(full['config'], full['checkpoint'], name='full')
    expected = other(videos)
    engine = MultiTaskRecognizer()
    outcome, order = [], []
    with serving(slow.root, slow.handler) as httpd:
        url = f'{httpd.url}/stock.pth'
        remote = _remote_config(tmp_path / 'remote.py', full['config'], url)
        thread = _in_thread(
            lambda: engine.add_task('full', remote, full['checkpoint']),
            outcome, order, 'added')
        answer = _answer_while_read(slow, thread, lambda: other(videos), order)
    assert order == ['answered', 'added']
    assert answer == expected
    [error] = outcome
    assert type(error) is TaskLoadError, error
    _assert_pretrained_error(error.__cause__, url, full['checkpoint'])
    assert slow.requests == 1
    assert engine.tasks == []


@pytest.mark.parametrize('served', ['missing', 'not a checkpoint'])
def test_a_failed_backbone_download_of_init_model_is_not_repeated(
        video_tasks, tiny_video_data, slow, tmp_path, served, clean_loggers):
    """As for ``add_task``: one request, and the other inferencer answers
    while it is going on."""
    full = video_tasks['full']
    videos = val_videos(tiny_video_data, 2)
    if served == 'not a checkpoint':
        (slow.root / 'stock.pth').write_bytes(b'not a checkpoint\n' * 64)
    other = ModelInferencer(full['config'], full['checkpoint'], name='full')
    expected = other(videos)
    outcome, order = [], []
    with serving(slow.root, slow.handler) as httpd:
        url = f'{httpd.url}/stock.pth'
        remote = _remote_config(tmp_path / 'remote.py', full['config'], url)
        thread = _in_thread(
            lambda: ModelInferencer(remote, full['checkpoint']), outcome,
            order, 'built')
        answer = _answer_while_read(slow, thread, lambda: other(videos), order)
    assert order == ['answered', 'built']
    assert answer == expected
    [error] = outcome
    _assert_pretrained_error(error, url, full['checkpoint'])
    assert slow.requests == 1


def test_a_task_that_becomes_the_first_reads_its_backbone_before_the_locks(
        video_tasks, tiny_video_data, slow, tmp_path, clean_loggers):
    """The engine had a task when the read began, so the new task's
    pretrained backbone was not read then; the engine is emptied while its
    checkpoint downloads, and the task becomes the first. Before, that
    backbone was read in the load, under the locks: the other inferencer's
    call waited for its download (20 s), so the add ended first."""
    full = video_tasks['full']
    videos = val_videos(tiny_video_data, 2)
    other = ModelInferencer(full['config'], full['checkpoint'], name='full')
    expected = other(videos)
    engine = MultiTaskRecognizer()
    engine.add_task('full', full['config'], full['checkpoint'])
    (tmp_path / 'backbone').mkdir()
    backbone = SlowServer(tmp_path / 'backbone')
    backbone.serve(video_tasks['stock'], 'stock.pth')
    slow.serve(full['checkpoint'], 'task.pth')
    outcome, order = [], []
    with serving(slow.root, slow.handler) as httpd, \
            serving(backbone.root, backbone.handler) as backbone_httpd:
        remote = _remote_config(tmp_path / 'remote.py', full['config'],
                                f'{backbone_httpd.url}/stock.pth')
        thread = _in_thread(
            lambda: engine.add_task('remote', remote, f'{httpd.url}/task.pth'),
            outcome, order, 'added')
        thread.start()
        try:
            assert slow.wait_requests(1, 60), 'checkpoint never requested'
            engine.remove_task('full')
            order.append('removed')
            slow.release()
            assert backbone.wait_requests(1, 60), 'backbone never requested'
            answer = other(videos)
            order.append('answered')
        finally:
            slow.release()
            backbone.release()
            thread.join(60)
    assert outcome == [None]
    assert order == ['removed', 'answered', 'added']
    assert answer == expected
    assert (slow.requests, backbone.requests) == (1, 1)
    assert engine.tasks == ['remote']
    # The backbone read before the locks is the one the task runs on.
    as_remote = {
        video: dict(remote=expected[video]['full'])
        for video in videos
    }
    assert_task_scores(engine(videos), as_remote, 'remote', videos)
