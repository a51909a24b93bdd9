# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The refusal of a task trained on another frozen backbone names files
by their whole names: a file whose name ends another's is not that file.

Before, the files were found as substrings of the message text: a task
whose config names ``vit.pth`` (another file than the shared backbone's
``.../shared/vit.pth``) was said to name the shared backbone's file, and
the file its checkpoint records (``.../other.pth``) went unsaid when its
config names a longer path that contains it."""
import os
import os.path as osp
import shutil

import pytest
from helpers import pretrained_cfg, write_config

from mmadaptformer.apis import MultiTaskRecognizer, TaskError

KEY = 'model.backbone.backbone.init_cfg.checkpoint'


def _refusal(engine, name, task, config):
    with pytest.raises(TaskError) as info:
        engine.add_task(name, config, task['checkpoint'])
    return str(info.value)


def _shared_engine(video_tasks, tmp_path):
    """An engine whose first task loads its frozen weights from
    ``tmp_path/shared/vit.pth``, a copy of the stock backbone."""
    shared = tmp_path / 'shared'
    shared.mkdir()
    shutil.copy(video_tasks['stock'], shared / 'vit.pth')
    config = write_config(tmp_path / 'full.py', video_tasks['full']['config'],
                          pretrained_cfg(str(shared / 'vit.pth')))
    engine = MultiTaskRecognizer()
    engine.add_task('full', config, video_tasks['full']['checkpoint'])
    return engine, str(shared / 'vit.pth')


def test_a_file_whose_name_ends_the_shared_ones_is_another_file(
        video_tasks, tmp_path, monkeypatch, clean_loggers):
    engine, shared = _shared_engine(video_tasks, tmp_path)
    mine = tmp_path / 'mine'
    mine.mkdir()
    shutil.copy(osp.join(video_tasks['root'], 'other.pth'), mine / 'vit.pth')
    monkeypatch.chdir(mine)
    config = write_config(tmp_path / 'other.py',
                          video_tasks['other']['config'],
                          pretrained_cfg('vit.pth'))
    message = _refusal(engine, 'other', video_tasks['other'], config)
    assert f'frozen weights from {shared} ({KEY})' in message
    assert f'Its config names vit.pth ({KEY}) as its frozen backbone.' \
        in message, message
    assert "shared backbone's file too" not in message
    other = osp.join(video_tasks['root'], 'other.pth')
    assert f'Its checkpoint records that it was trained on {other}.' \
        in message


def test_the_recorded_file_is_named_beside_a_longer_path_holding_it(
        video_tasks, tmp_path, clean_loggers):
    engine, _ = _shared_engine(video_tasks, tmp_path)
    other = osp.join(video_tasks['root'], 'other.pth')
    copied = str(tmp_path / 'mnt') + other
    os.makedirs(osp.dirname(copied))
    shutil.copy(other, copied)
    config = write_config(tmp_path / 'other.py',
                          video_tasks['other']['config'],
                          pretrained_cfg(copied))
    message = _refusal(engine, 'other', video_tasks['other'], config)
    assert f'Its config names {copied} ({KEY}) as its frozen backbone.' \
        in message, message
    assert f'Its checkpoint records that it was trained on {other}.' \
        in message, message
