# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A real tiny training run over broken videos counts them per epoch."""
import glob
import re
from typing import Callable, List

import pytest
from broken_videos import video_path, write_list
from helpers import TINY_VIDEO_CONFIG, TRAIN_ONLY_CFG, config_runner
from mmengine.runner import Runner

from mmadaptformer.engine import DataHealthHook

TRAIN_BROKEN = ('text', 'trunc_webm', 'trunc_avi', 'empty')


def _run_config(tmp_path, body: str) -> Runner:
    """Train the tiny video config with ``body`` appended; the work dir is
    ``tmp_path/work``."""
    runner = config_runner(tmp_path, TINY_VIDEO_CONFIG, body)
    runner.train()
    return runner


def _train(tmp_path, files, num_workers: int) -> Runner:
    # Half of the list is broken; the sampler visits each broken one once.
    ann = write_list(tmp_path / 'train.txt',
                     [f'{n} {i % 2}' for i, n in enumerate(files['good'])] +
                     [f'{files[kind]} 1' for kind in TRAIN_BROKEN])
    body = (f'train_dataloader = dict(num_workers={num_workers}, '
            f'dataset=dict(ann_file={ann!r}, '
            f"data_prefix=dict(video={files['videos']!r})))\n"
            'train_cfg = dict(max_epochs=1)\n'
            "custom_hooks = [dict(type='DataHealthHook')]\n"
            'randomness = dict(seed=0)\n') + TRAIN_ONLY_CFG
    return _run_config(tmp_path, body)


@pytest.mark.parametrize('num_workers', [0, 2])
def test_runner_logs_skipped_videos_per_epoch(tmp_path, video_files,
                                              clean_loggers, num_workers):
    runner = _train(tmp_path, video_files, num_workers)
    assert runner.iter == 2
    log = open(glob.glob(str(tmp_path / 'work' / '*' / '*.log'))[0]).read()
    lines = re.findall(r'epoch 1: skipped (\d+) broken videos \((.*)\)', log)
    assert len(lines) == 1
    count, names = int(lines[0][0]), lines[0][1]
    # Each broken video once from the sampler, more if drawn again.
    assert count >= len(TRAIN_BROKEN)
    for kind in TRAIN_BROKEN:
        assert video_path(video_files, video_files[kind]) in names
    assert not any(n in names for n in video_files['good'])
    scalar = runner.message_hub.get_scalar('train/skipped_videos')
    assert scalar.current() == count
    if num_workers == 0:
        # One WARNING per broken file: MMLogger drops repeated warnings.
        warned = re.findall(r'skipping broken video (\S+) ', log)
        assert sorted(warned) == sorted(
            video_path(video_files, video_files[kind])
            for kind in TRAIN_BROKEN)


def test_hook_sums_data_samples_of_an_epoch(clean_loggers):
    from mmaction.structures import ActionDataSample
    from mmengine.logging import MessageHub

    class FakeRunner:
        epoch = 2
        message_hub = MessageHub.get_instance('test_data_health_hook')

    def batch(*skipped):
        samples = []
        for names in skipped:
            sample = ActionDataSample()
            sample.set_metainfo(dict(skipped_videos=list(names)))
            samples.append(sample)
        return dict(inputs=[], data_samples=samples)

    hook = DataHealthHook(max_names=1)
    runner = FakeRunner()
    hook.before_train_epoch(runner)
    hook.after_train_iter(runner, 0, batch(['a.mp4'], [], ['b.mp4']))
    hook.after_train_iter(runner, 1, batch(['a.mp4', 'a.mp4']))
    hook.after_train_iter(runner, 2, dict(inputs=[]))  # no data samples
    hook.after_train_epoch(runner)
    assert runner.message_hub.get_scalar('train/skipped_videos').current() == 4
    hook.before_train_epoch(runner)
    hook.after_train_epoch(runner)
    assert runner.message_hub.get_scalar('train/skipped_videos').current() == 0


def _rank_main(rank: int, out_dir: str, port: int, body: Callable,
               scalar: str) -> None:
    """One of two gloo ranks: run ``body(rank, runner, hook)`` with a fresh
    DataHealthHook and a stand-in runner, then write the message hub's
    ``scalar`` and the logged lines to ``out_dir/rank<N>.json``."""
    import json
    import logging
    import os

    import torch.distributed as dist
    from mmengine.logging import MessageHub, MMLogger
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    try:
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        MMLogger.get_instance(f'rank{rank}').addHandler(handler)

        class FakeRunner:
            epoch = 0
            message_hub = MessageHub.get_instance(f'rank{rank}')

        body(rank, FakeRunner, DataHealthHook())
        with open(os.path.join(out_dir, f'rank{rank}.json'), 'w') as f:
            json.dump(
                dict(
                    scalar=int(
                        FakeRunner.message_hub.get_scalar(scalar).current()),
                    logs=[r.getMessage() for r in records]), f)
    finally:
        dist.destroy_process_group()


def _on_two_ranks(tmp_path, body: Callable, scalar: str) -> List[dict]:
    """Run ``body`` on two real gloo ranks (forked processes); return each
    rank's scalar and log lines."""
    import json
    import socket

    import torch.multiprocessing as mp
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    mp.start_processes(
        _rank_main,
        args=(str(tmp_path), port, body, scalar),
        nprocs=2,
        start_method='fork')
    return [
        json.load(open(tmp_path / f'rank{rank}.json')) for rank in range(2)
    ]


def _skipped_on_rank(rank, runner, hook) -> None:
    from mmaction.structures import ActionDataSample
    hook.before_train_epoch(runner)
    # Rank 0 skipped 1 video, rank 1 skipped 2.
    sample = ActionDataSample()
    sample.set_metainfo(
        dict(skipped_videos=[['r0.mp4'], ['r1.mp4', 'r1.mp4']][rank]))
    hook.after_train_iter(runner, 0, dict(inputs=[], data_samples=[sample]))
    hook.after_train_epoch(runner)


def test_hook_sums_over_ranks_with_gloo(tmp_path, clean_loggers):
    for result in _on_two_ranks(tmp_path, _skipped_on_rank,
                                'train/skipped_videos'):
        assert result['scalar'] == 3
        assert result['logs'] == [
            'epoch 1: skipped 3 broken videos (r1.mp4 x2, r0.mp4)'
        ]


@pytest.mark.parametrize('short_videos, num_workers', [('report', 0),
                                                       ('skip', 2)])
def test_runner_reports_short_videos_per_epoch(tmp_path, video_files,
                                               clean_loggers, short_videos,
                                               num_workers):
    short = video_path(video_files, video_files['short'])
    ann = write_list(
        tmp_path / 'list.txt',
        [f'{n} {i % 2}' for i, n in enumerate(video_files['good'])] +
        [f'{video_files["short"]} 1'])
    dataset = (f'dataset=dict(ann_file={ann!r}, short_videos={short_videos!r}'
               f", data_prefix=dict(video={video_files['videos']!r}))")
    body = (f'train_dataloader = dict(num_workers={num_workers}, {dataset})\n'
            f'val_dataloader = dict({dataset})\n'
            'train_cfg = dict(max_epochs=2, val_interval=1)\n'
            'randomness = dict(seed=0)\n'
            'default_hooks = dict(checkpoint=dict(interval=10, '
            'save_last=False))\n')
    runner = _run_config(tmp_path, body)
    log = open(glob.glob(str(tmp_path / 'work' / '*' / '*.log'))[0]).read()
    # The clip spans (4 - 1) * 3 + 1 = 10 frames; the video has 1.
    named = f'({short} (1 of 10 frames))'
    if short_videos == 'report':
        for epoch, names in ((1, named), (2, '(all named before)')):
            assert (f'epoch {epoch}: trained on 1 video shorter than a '
                    f'clip, with repeated frames {names}') in log
        # Validation runs after each epoch; it names the file once.
        assert log.count('val: evaluated 1 video shorter than a clip, '
                         f'with repeated frames {named}') == 1
        assert log.count('val: evaluated 1 video shorter than a clip, '
                         'with repeated frames (all named before)') == 1
        assert runner.message_hub.get_scalar(
            'train/short_videos').current() == 1
    else:
        counts = re.findall(
            r'epoch (\d): skipped (\d+) videos? shorter than a clip \((.*)\)',
            log)
        assert [c[0] for c in counts] == ['1', '2']
        assert all(int(c[1]) >= 1 for c in counts)
        assert counts[0][2] == named[1:-1]
        assert counts[1][2] == 'all named before'
        # Evaluation dropped it when the dataset was built.
        assert "short_videos='skip' dropped 1 of 5 videos" in log
        assert 'val: evaluated' not in log and 'trained on' not in log
    assert log.count('skipped 0 broken videos') == 2


def _short_on_rank(rank, runner, hook) -> None:
    from mmaction.structures import ActionDataSample

    def batch(key, *videos):
        sample = ActionDataSample()
        sample.set_metainfo({key: list(videos)})
        return dict(inputs=[], data_samples=[sample])

    for epoch in range(2):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        # Rank 0 used a.mp4; rank 1 used a.mp4 and skipped b.mp4, and in
        # the second epoch also skipped c.mp4.
        hook.after_train_iter(runner, 0, batch('short_videos',
                                               ('a.mp4', 1, 10)))
        # Both ranks run every iteration, as under DDP: the hook sums its
        # running counts over the ranks at each one.
        skipped = [('b.mp4', 3, 10)] + [('c.mp4', 2, 10)] * epoch
        hook.after_train_iter(
            runner, 1,
            batch('skipped_short_videos', *skipped) if rank == 1 else dict(
                inputs=[]))
        hook.after_train_epoch(runner)


def test_short_videos_are_summed_over_ranks_and_named_once(
        tmp_path, clean_loggers):
    used = 'videos shorter than a clip, with repeated frames'
    for result in _on_two_ranks(tmp_path, _short_on_rank,
                                'train/short_videos'):
        assert result['scalar'] == 4
        assert result['logs'] == [
            'epoch 1: skipped 0 broken videos',
            f'epoch 1: trained on 2 {used} (a.mp4 (1 of 10 frames))',
            'epoch 1: skipped 1 video shorter than a clip '
            '(b.mp4 (3 of 10 frames))',
            'epoch 2: skipped 0 broken videos',
            f'epoch 2: trained on 2 {used} (all named before)',
            'epoch 2: skipped 2 videos shorter than a clip '
            '(c.mp4 (2 of 10 frames))',
        ]


def test_short_videos_of_an_epoch_are_named_once(clean_loggers, log_records):
    from mmaction.structures import ActionDataSample
    from mmengine.logging import MessageHub

    class FakeRunner:
        epoch = 0
        message_hub = MessageHub.get_instance('test_short_named_once')

    def batch(*videos):
        sample = ActionDataSample()
        sample.set_metainfo(dict(short_videos=list(videos)))
        return dict(inputs=[], data_samples=[sample])

    for max_names in (1, 0):
        hook = DataHealthHook(max_names=max_names)
        for epoch in range(2):
            FakeRunner.epoch = epoch
            hook.before_train_epoch(FakeRunner)
            hook.after_train_iter(FakeRunner, 0, batch(('a.mp4', 1, 10)))
            hook.after_train_iter(FakeRunner, 1, batch(('b.mp4', 2, 10)))
            hook.after_train_epoch(FakeRunner)
        assert FakeRunner.message_hub.get_scalar(
            'train/short_videos').current() == 2
    used = 'trained on 2 videos shorter than a clip, with repeated frames'
    assert [
        r.getMessage() for r in log_records if 'shorter' in r.getMessage()
    ] == [
        # Each file is reported at the first epoch that meets it.
        f'epoch 1: {used} (a.mp4 (1 of 10 frames), ... and 1 more files)',
        f'epoch 2: {used} (all named before)',
        f'epoch 1: {used} (... and 2 more files)',
        f'epoch 2: {used} (all named before)',
    ]


def test_a_stock_video_dataset_gets_no_skip_line(tmp_path, video_files,
                                                 clean_loggers):
    """mmaction2's ``VideoDataset`` never skips a video, yet each epoch
    logged ``epoch 1: skipped 0 broken videos`` and its iteration lines
    ``skipped_videos: 0  short_videos: 0``: counts the dataset cannot
    give. Now the hook stays quiet about them."""
    ann = write_list(
        tmp_path / 'train.txt',
        [f'{n} {i % 2}' for i, n in enumerate(video_files['good'])])
    body = ("train_dataloader = dict(dataset=dict(type='VideoDataset', "
            f'ann_file={ann!r}, data_prefix=dict(video='
            f"{video_files['videos']!r})))\n"
            'train_cfg = dict(max_epochs=1)\n'
            "custom_hooks = [dict(type='DataHealthHook')]\n") + TRAIN_ONLY_CFG
    runner = _run_config(tmp_path, body)
    assert runner.iter == 1
    log = open(glob.glob(str(tmp_path / 'work' / '*' / '*.log'))[0]).read()
    assert 'Epoch(train) [1][1/1]' in log, log
    assert 'broken videos' not in log and 'skipped_videos' not in log, log
    assert 'short_videos' not in log, log
    for key in ('train/skipped_videos', 'train/short_videos',
                'train/skipped_images'):
        assert key not in runner.message_hub.log_scalars, key
