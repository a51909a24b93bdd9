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
from slow_server import slow_server

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
