# Copyright (c) mmadaptformer contributors. All rights reserved.
"""DataHealthHook refuses a video validation or test set that would replace
its broken videos by other samples: a real tiny Runner over real broken
videos."""
import glob
import re

import pytest
from broken_videos import video_path, write_list
from helpers import TINY_VIDEO_CONFIG, write_config
from mmengine.config import Config
from mmengine.runner import Runner

from mmadaptformer.datasets import BrokenVideoError


def _runner(tmp_path, name: str, body: str) -> Runner:
    """The tiny video config with ``body`` appended, written as
    ``name``; its work dir is ``tmp_path/name``."""
    cfg = Config.fromfile(
        write_config(tmp_path / f'{name}.py', TINY_VIDEO_CONFIG, body))
    cfg.work_dir = str(tmp_path / name)
    return Runner.from_cfg(cfg)


def _list(tmp_path, files) -> str:
    """The good videos and one broken one (a whole AVI file without
    frames: the check of a test-mode list, which reads headers, lets it
    through, as it would not a text file)."""
    return write_list(tmp_path / 'list.txt',
                      [f'{n} {i % 2}' for i, n in enumerate(files['good'])] +
                      [f"{files['zero_frames']} 1"])


@pytest.mark.parametrize('skip_broken', [False, True])
def test_lenient_video_test_set_is_refused(tmp_path, video_files,
                                           clean_loggers, skip_broken):
    """With test_mode=False the test set's broken video was replaced by
    another sample and the run scored 4 of the wrong 5 videos, silently;
    skip_broken=True changes nothing there (it acts in test mode only).
    The option the error names then gives a strict evaluation."""
    dataset = (f'ann_file={_list(tmp_path, video_files)!r}, '
               f"data_prefix=dict(video={video_files['videos']!r}), "
               f'skip_broken={skip_broken}')
    runner = _runner(
        tmp_path, 'lenient',
        f'test_dataloader = dict(dataset=dict({dataset}, test_mode=False))\n')
    with pytest.raises(ValueError) as err:
        runner.test()
    message = str(err.value)
    assert message.startswith(
        'DataHealthHook: test_dataloader.dataset is a CheckedVideoDataset '
        'with test_mode=False, which replaces a broken video by another '
        'sample'), message
    assert 'Set test_dataloader.dataset.test_mode=True, so that a broken ' \
           'video is an error naming it.' in message
    assert 'also set test_dataloader.dataset.skip_broken=True: they are ' \
           'then dropped when the dataset is built' in message
    ignored = ('skip_broken=True of test_dataloader.dataset acts only with '
               'test_mode=True.')
    assert (ignored in message) == skip_broken

    # As the message says: test_mode=True.
    runner = _runner(
        tmp_path, 'strict',
        f'test_dataloader = dict(dataset=dict({dataset}, test_mode=True))\n')
    broken = video_path(video_files, video_files['zero_frames'])
    if not skip_broken:
        # The file and its line of the list (the fifth).
        expected = re.escape(f"Cannot load {broken} ({tmp_path / 'list.txt'}"
                             ':5) for evaluation: ')
        with pytest.raises(BrokenVideoError, match=expected):
            runner.test()
        return
    metrics = runner.test()
    assert 'acc/top1' in metrics
    assert len(runner.test_dataloader.dataset) == len(video_files['good'])
    log = open(glob.glob(str(tmp_path / 'strict' / '*' / '*.log'))[0]).read()
    assert (f'skip_broken=True dropped 1 of {len(video_files["good"]) + 1} '
            'videos') in log
    assert broken in log


def test_lenient_video_val_set_in_a_wrapper_is_refused_before_training(
        tmp_path, video_files, clean_loggers):
    """A lenient CheckedVideoDataset inside a ConcatDataset of the
    validation dataloader is refused before the first iteration, naming
    its key."""
    ann = _list(tmp_path, video_files)
    inner = (f"dict(type='CheckedVideoDataset', ann_file={ann!r}, "
             f"data_prefix=dict(video={video_files['videos']!r}), "
             'pipeline={{_base_.val_pipeline}}, test_mode=TEST_MODE)')
    datasets = ', '.join(
        inner.replace('TEST_MODE', mode) for mode in ('True', 'False'))
    body = ('val_dataloader = dict(dataset=dict(_delete_=True, '
            f"type='ConcatDataset', datasets=[{datasets}]))\n"
            'train_dataloader = dict(dataset=dict('
            f'ann_file={ann!r}, data_prefix=dict(video='
            f"{video_files['videos']!r})))\n")
    runner = _runner(tmp_path, 'wrapped', body)
    with pytest.raises(ValueError) as err:
        runner.train()
    assert runner.iter == 0
    key = 'val_dataloader.dataset.datasets.1'
    assert str(err.value).startswith(
        f'DataHealthHook: {key} is a CheckedVideoDataset with '
        'test_mode=False'), str(err.value)
    assert f'Set {key}.test_mode=True,' in str(err.value)
    assert 'datasets.0' not in str(err.value)
