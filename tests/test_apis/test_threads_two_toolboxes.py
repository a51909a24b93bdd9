# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A service that serves a video model and loads an image model in two
threads: MMEngine's default scope, which building a model reads, is one
per process, so the inferencers take one process-wide lock for it."""
import threading

import numpy as np
from adapter_tasks import val_videos
from checkpoint_makers import save_as_built_checkpoint
from repo_paths import TINY_IMAGE_CONFIG

import mmadaptformer.apis.model_init as model_init
from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer


def test_an_image_model_builds_while_a_video_engine_serves(
        video_tasks, tiny_video_data, tmp_path, monkeypatch, clean_loggers):
    """The video engine's call set the scope to ``mmaction`` in the middle
    of the image model's build (after it set ``mmpretrain``): before, the
    build failed (``TypeError: BaseHead.__init__() got an unexpected
    keyword argument 'loss'`` from the wrong registry's head, or a
    ``KeyError``). The two are made to meet there: each waits for the other
    at most a second, and with the lock the build simply waits."""
    image_ckpt = save_as_built_checkpoint(TINY_IMAGE_CONFIG,
                                          tmp_path / 'image.pth')
    task = video_tasks['full']
    engine = MultiTaskRecognizer()
    engine.add_task('full', task['config'], task['checkpoint'])
    videos = val_videos(tiny_video_data, 3)
    expected = engine(videos)
    in_build, scope_set = threading.Event(), threading.Event()
    calls = []

    def stem_hook(module, args):
        # The first input's forward waits for the build to start; the
        # second one's pipeline has set the scope to mmaction again.
        calls.append(1)
        if len(calls) == 1:
            in_build.wait(1)
        else:
            scope_set.set()

    check = model_init.check_inference_cfg

    def check_then_wait(cfg, source):
        check(cfg, source)
        in_build.set()
        scope_set.wait(1)

    monkeypatch.setattr(model_init, 'check_inference_cfg', check_then_wait)
    handle = engine.base.backbone.register_forward_pre_hook(stem_hook)
    served = {}
    thread = threading.Thread(
        target=lambda: served.update(engine(videos, batch_size=1)))
    thread.start()
    try:
        image = ModelInferencer(TINY_IMAGE_CONFIG, image_ckpt)
    finally:
        thread.join()
        handle.remove()
    assert served == expected
    picture = np.random.default_rng(0).integers(
        0, 256, (32, 32, 3), dtype=np.uint8)
    alone = ModelInferencer(TINY_IMAGE_CONFIG, image_ckpt)
    assert image(picture) == alone(picture)
