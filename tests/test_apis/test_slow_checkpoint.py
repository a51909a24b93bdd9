# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint downloaded in one thread does not hold the calls of other
inferencers in other threads: the process-wide scope lock is held while a
model is built, not while its checkpoint is read."""
import shutil
import threading

from adapter_tasks import val_videos
from file_server import QuietHandler, serving

from mmadaptformer.apis import ModelInferencer


def test_a_call_answers_while_another_checkpoint_downloads(
        video_tasks, tiny_video_data, tmp_path, monkeypatch, clean_loggers):
    """The server holds its answer until the call in the main thread is
    done (at most 20 s). Before, ``init_model`` held the scope lock through
    the download, so the call waited for it: the download ended (after
    20 s) before the call did."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    task = video_tasks['full']
    root = tmp_path / 'served'
    root.mkdir()
    shutil.copy(task['checkpoint'], root / 'epoch_1.pth')
    requested, answered = threading.Event(), threading.Event()

    class SlowHandler(QuietHandler):

        def do_GET(self):
            requested.set()
            answered.wait(20)
            super().do_GET()

    video = val_videos(tiny_video_data, 1)[0]
    serving_now = ModelInferencer(task['config'], task['checkpoint'])
    expected = serving_now(video)
    order, errors, loaded = [], [], {}

    def load(url):
        try:
            loaded['inferencer'] = ModelInferencer(task['config'], url)
        except Exception as e:  # noqa: B902 -- reported below
            errors.append(e)
        order.append('downloaded')

    with serving(root, SlowHandler) as httpd:
        thread = threading.Thread(
            target=load, args=(f'{httpd.url}/epoch_1.pth', ), daemon=True)
        thread.start()
        try:
            assert requested.wait(60), 'the checkpoint was never requested'
            answer = serving_now(video)
            order.append('answered')
        finally:
            answered.set()
            thread.join(60)
    assert errors == []
    assert order == ['answered', 'downloaded']
    assert answer == expected
    # Both are named after the config; the downloaded one answers alike.
    assert loaded['inferencer'](video) == expected
