# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The counts of DataHealthHook in MMEngine's iteration log lines are the
current epoch's, from 0 at its start, not the previous epoch's total, and
only those of the kind of files the run trains on."""
import glob
import json
import re

import pytest
from broken_images import stripes_with_broken_images
from broken_videos import write_list
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, TRAIN_ONLY_CFG,
                     config_runner)

from mmadaptformer.engine import DataHealthHook

BROKEN = ('text', 'trunc_webm', 'trunc_avi', 'empty')
VIDEO_KEYS = ('skipped_videos', 'short_videos')


def _log_and_scalars(work_dir):
    """The run's log file and its ``scalars.json`` records of training
    iterations."""
    log = open(glob.glob(str(work_dir / '*' / '*.log'))[0]).read()
    path = glob.glob(str(work_dir / '*' / 'vis_data' / 'scalars.json'))[0]
    with open(path) as f:
        scalars = [json.loads(line) for line in f]
    return log, [s for s in scalars if 'loss' in s]


def test_scalars_restart_at_each_epoch_and_count_up(clean_loggers):
    from mmaction.structures import ActionDataSample
    from mmengine.logging import MessageHub

    class FakeRunner:
        epoch = 0
        message_hub = MessageHub.get_instance('test_data_health_log_lines')

    def batch(**metainfo):
        sample = ActionDataSample()
        sample.set_metainfo(metainfo)
        return dict(inputs=[], data_samples=[sample])

    def current():
        hub = FakeRunner.message_hub
        return (hub.get_scalar('train/skipped_videos').current(),
                hub.get_scalar('train/short_videos').current())

    hook = DataHealthHook()
    hook.before_train_epoch(FakeRunner)
    # Without a training dataset, no counter before a sample carries one
    # (it showed 0 videos in an images-only run).
    assert 'train/skipped_videos' not in FakeRunner.message_hub.log_scalars
    hook.after_train_iter(FakeRunner, 0,
                          batch(skipped_videos=['a.mp4', 'b.mp4', 'c.mp4']))
    assert current() == (3, 0)
    hook.after_train_iter(FakeRunner, 1,
                          batch(short_videos=[('s.mp4', 1, 10)]))
    assert current() == (3, 1)
    hook.after_train_epoch(FakeRunner)
    assert current() == (3, 1)  # the epoch's totals

    FakeRunner.epoch = 1
    hook.before_train_epoch(FakeRunner)
    # What the first log line of epoch 2 shows: nothing met yet.
    assert current() == (0, 0)
    hook.after_train_iter(FakeRunner, 0, batch(skipped_videos=['a.mp4']))
    assert current() == (1, 0)
    hook.after_train_epoch(FakeRunner)
    assert current() == (1, 0)


def test_iteration_lines_of_a_real_run(tmp_path, video_files, clean_loggers):
    """Two epochs over a list with broken videos: every iteration line,
    the first epoch's too, shows the count so far in its epoch, and the
    epoch's last line shows the total its summary gives."""
    ann = write_list(
        tmp_path / 'train.txt',
        [f'{n} {i % 2}' for i, n in enumerate(video_files['good'])] +
        [f'{video_files[kind]} 1' for kind in BROKEN])
    body = (f'train_dataloader = dict(num_workers=0, batch_size=2, '
            f'dataset=dict(ann_file={ann!r}, '
            f"data_prefix=dict(video={video_files['videos']!r})))\n"
            'train_cfg = dict(max_epochs=2)\n'
            'randomness = dict(seed=0)\n') + TRAIN_ONLY_CFG
    runner = config_runner(tmp_path, TINY_VIDEO_CONFIG, body)
    runner.train()
    log, scalars = _log_and_scalars(tmp_path / 'work')

    lines = re.findall(r'Epoch\(train\)\s+\[(\d)\]\[\s*(\d+)/(\d+)\](.*)', log)
    assert len(lines) == 8, log  # 8 listed videos, batch 2, 2 epochs
    totals = dict(re.findall(r'epoch (\d): skipped (\d+) broken videos', log))
    assert set(totals) == {'1', '2'}
    for epoch in ('1', '2'):
        counts = []
        for line_epoch, _, _, rest in lines:
            if line_epoch == epoch:
                match = re.search(r'skipped_videos: (\d+)', rest)
                assert match, f'epoch {epoch}: {rest}'
                counts.append(int(match.group(1)))
        assert counts == sorted(counts), (epoch, counts)
        assert counts[-1] == int(totals[epoch]) >= 1, (epoch, counts)
    # A video run records the videos' counters, not the images'.
    for _, _, _, rest in lines:
        assert 'short_videos: 0' in rest and 'skipped_images' not in rest
    assert len(scalars) == 8
    for record in scalars:
        assert set(VIDEO_KEYS) <= set(record), record
        assert 'skipped_images' not in record, record
    assert 'train/skipped_images' not in runner.message_hub.log_scalars


@pytest.mark.parametrize('wrapped', [False, True])
def test_image_run_lines_show_no_video_counters(tmp_path, clean_loggers,
                                                wrapped):
    """An image run's iteration lines and scalars.json showed
    ``skipped_videos: 0  short_videos: 0``, counters that mean nothing
    there; the training dataset, wrapped or not, now decides."""
    root = str(tmp_path / 'data')
    stripes_with_broken_images(root)
    dataset = (f"type='CheckedImageDataset', data_root={root!r}, "
               "data_prefix='train', pipeline={{_base_.train_pipeline}}")
    if wrapped:
        dataset = f"type='RepeatDataset', times=1, dataset=dict({dataset})"
    body = (f'train_dataloader = dict(dataset=dict(_delete_=True, {dataset}))'
            '\ntrain_cfg = dict(max_epochs=1)\n'
            "custom_hooks = [dict(type='DataHealthHook')]\n"
            'randomness = dict(seed=0)\n') + TRAIN_ONLY_CFG
    runner = config_runner(tmp_path, TINY_IMAGE_CONFIG, body)
    runner.train()
    log, scalars = _log_and_scalars(tmp_path / 'work')

    lines = re.findall(r'Epoch\(train\)\s+\[1\]\[\s*\d+/\d+\](.*)', log)
    assert len(lines) == 3, log  # 8 good and 4 broken images, 4 a batch
    counts = [
        int(re.search(r'skipped_images: (\d+)', rest).group(1))
        for rest in lines
    ]
    total = int(re.search(r'epoch 1: skipped (\d+) broken images', log)[1])
    assert counts == sorted(counts) and counts[-1] == total >= 4, counts
    assert [record['skipped_images'] for record in scalars] == counts
    for key in VIDEO_KEYS:
        assert key not in log, key
        assert all(key not in record for record in scalars), key
        assert f'train/{key}' not in runner.message_hub.log_scalars
