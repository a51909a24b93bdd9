# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every config read of the process, ours and the toolboxes', one at a time:
MMEngine's ``Config.fromfile`` of a config with an ``mmaction::`` or
``mmpretrain::`` base reloads ``pkg_resources`` while another thread's read
looks a package up in it (``utils/config_read_lock.py``)."""
import os.path as osp

from adapter_tasks import random_task_checkpoints, val_videos
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG)
from mmengine.config import Config
from thread_helpers import held_then_second, in_two_threads

from mmadaptformer.apis import ModelInferencer
from mmadaptformer.utils.config_key_writer import key_writer

#: Reads per thread. Before, 10 to 14 of 60 ``Config.fromfile`` reads of two
#: threads failed, 3 of 24 ``init_recognizer`` calls and 6 of 40
#: ``get_model`` calls: 2 x 15 all but always met one.
READS = 15


def _described(errors: list) -> list:
    """The errors, as ``'TypeError: ...'`` lines an assertion shows."""
    return [f'{type(e).__name__}: {e}' for e in errors]


def test_two_threads_read_an_mmaction_config_at_once():
    """Before: ``TypeError: 'DistInfoDistribution' object is not iterable``
    now and then."""
    configs = []

    def read(_):
        configs.append(Config.fromfile(TINY_VIDEO_CONFIG))

    assert _described(in_two_threads(read, READS)) == []
    assert len(configs) == 2 * READS
    # The mmaction:: base was read, each time.
    assert {cfg.default_scope for cfg in configs} == {'mmaction'}


def test_two_threads_run_init_recognizer_at_once(clean_loggers):
    """mmaction2's own API reads its config through ``Config.fromfile``,
    which every thread passes: before, the same ``TypeError`` now and
    then."""
    from mmaction.apis import init_recognizer
    models = []

    def build(_):
        models.append(init_recognizer(TINY_VIDEO_CONFIG, None, device='cpu'))

    assert _described(in_two_threads(build, READS)) == []
    assert len(models) == 2 * READS


def test_two_threads_run_get_model_at_once(clean_loggers):
    """mmpretrain's own API, on a config with an ``mmpretrain::`` base:
    before, the same ``TypeError`` now and then."""
    from mmpretrain import get_model
    models = []

    def build(_):
        models.append(get_model(TINY_IMAGE_CONFIG))

    assert _described(in_two_threads(build, READS)) == []
    assert len(models) == 2 * READS


def test_a_base_config_looked_up_while_another_thread_reads_a_config():
    """``key_writer`` (the place a refusal of the tools' optimizer checks
    names) finds an ``mmaction::`` base through MMEngine's
    ``is_installed``, which reloads ``pkg_resources``: before, it broke the
    other thread's read (13 ``TypeError`` of 30 reads) and its own lookup
    (``DistributionNotFound: The 'mmaction' distribution was not
    found``)."""
    configs, found = [], []

    def read(_):
        configs.append(Config.fromfile(TINY_VIDEO_CONFIG))

    def find(_):
        found.append(
            key_writer(TINY_VIDEO_CONFIG, 'default_hooks.logger.ignore_last'))

    assert _described(in_two_threads(read, READS, find)) == []
    assert len(configs) == len(found) == READS
    # Written by the mmaction:: base, found through the installed package.
    assert {(w.installed, osp.basename(w.file))
            for w in found} == {(True, 'default_runtime.py')}


def test_a_config_read_does_not_wait_for_an_inferencers_call(
        tiny_video_data, tmp_path, clean_loggers):
    """Guards the lock's design (kept behaviour: before, config reads took
    no lock): an inferencer's call holds the process-wide scope lock through
    its forward, and a config read in another thread takes the config read
    lock alone, so it is done while that call is held inside the model.
    Had reads taken the scope lock, the read would wait for the call, which
    waits for the read: the held call gives up after 60 s and fails."""
    checkpoint, = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG,
                                          'mmaction', tmp_path, (1, ))
    inferencer = ModelInferencer(TINY_ADAPTFORMER_VIDEO_CONFIG, checkpoint)
    videos = val_videos(tiny_video_data, 1)
    expected = inferencer(videos)
    block = inferencer.model.backbone.backbone.blocks[0]
    answer, cfg = held_then_second(block, lambda: inferencer(videos),
                                   lambda: Config.fromfile(TINY_VIDEO_CONFIG))
    assert answer == expected
    assert cfg.default_scope == 'mmaction'
