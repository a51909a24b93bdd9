# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The pretrained backbone an adapter-only checkpoint leaves out, downloaded
by ``init_model`` (a ``ModelInferencer`` being built) in one thread, does
not hold other inferencers' calls: it is read before the process-wide lock,
and the load under the lock reuses what was read. A real 127.0.0.1 server
holds the answer until the test releases it (at most 20 s,
``slow_server.HOLD``)."""
import threading

import pytest
from adapter_tasks import val_videos
from file_server import serving
from slow_server import slow_server

from mmadaptformer.apis import ModelInferencer
from mmadaptformer.utils import checkpoint_schemes


@pytest.fixture
def slow(tmp_path, monkeypatch):
    """A :class:`~slow_server.SlowServer` over an empty folder, and the
    download caches in ``tmp_path``."""
    return slow_server(tmp_path, monkeypatch)


def test_an_inferencer_answers_while_another_downloads_its_backbone(
        video_tasks, tiny_video_data, slow, tmp_path, monkeypatch,
        clean_loggers):
    """Before, ``init_model`` read that file in the load, under the scope
    lock: the other inferencer's call waited for the download (20 s), so
    the build ended first. It is read once."""
    full = video_tasks['full']
    videos = val_videos(tiny_video_data, 2)
    file = slow.serve(video_tasks['stock'], 'stock.pth')
    other = ModelInferencer(full['config'], full['checkpoint'], name='full')
    expected = other(videos)
    loads = []
    load_forced = checkpoint_schemes.load_forced

    def counted(loader, filename, *args, **kwargs):
        loads.append(str(filename))
        return load_forced(loader, filename, *args, **kwargs)

    monkeypatch.setattr(checkpoint_schemes, 'load_forced', counted)
    built, order = [], []
    with serving(slow.root, slow.handler) as httpd:
        url = f'{httpd.url}/{file}'
        remote = tmp_path / 'remote.py'
        remote.write_text(
            f"_base_ = [{full['config']!r}]\n"
            'model = dict(backbone=dict(backbone=dict(init_cfg=dict('
            f'checkpoint={url!r}))))\n')

        def build():
            try:
                built.append(
                    ModelInferencer(
                        str(remote), full['checkpoint'], name='full'))
            except Exception as e:  # noqa: B902 -- asserted by the test
                built.append(e)
            order.append('built')

        thread = threading.Thread(target=build, daemon=True)
        thread.start()
        try:
            assert slow.wait_requests(1, 60), 'never requested'
            answer = other(videos)
            order.append('answered')
        finally:
            slow.release()
            thread.join(60)
    assert len(built) == 1 and isinstance(built[0], ModelInferencer), built
    assert order == ['answered', 'built']
    assert answer == expected
    assert slow.requests == 1
    assert loads.count(url) == 1, loads
    # The backbone read before the lock is the one the model runs on.
    assert built[0](videos) == expected
