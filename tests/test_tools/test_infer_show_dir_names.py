# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--show-dir`` names that cannot be mistaken: with a clip folder
``val_0_0/`` and a video ``val_0_0.mp4`` in one folder, the clip was drawn
to ``vis/val_0_0.mp4`` (which reads as the video's drawing) and the video
to ``vis/val_0_0.mp4.mp4``. The clip's drawing is now
``val_0_0.frames.mp4``."""
import os
import os.path as osp

import numpy as np
import pytest
from drawn_frames import read_video
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, save_as_built_checkpoint
from test_apis.test_frame_folders import rawframe_config, write_frames

from mmadaptformer.apis.show_dir import show_dir_problem, show_paths
from mmadaptformer.testing import write_video


@pytest.fixture(scope='module')
def same_stem(tmp_path_factory):
    """A rawframe task and a video task on one backbone, and a folder
    with the clip folder ``val_0_0/`` (12 frames) beside the video
    ``val_0_0.mp4`` (9 frames)."""
    root = tmp_path_factory.mktemp('same_stem')
    raw = rawframe_config(root / 'rawframe.py')
    video = str(TINY_ADAPTFORMER_VIDEO_CONFIG)
    data = root / 'data'
    clip, _ = write_frames(data / 'val_0_0', range(1, 13))
    rng = np.random.default_rng(0)
    mp4 = write_video(
        str(data / 'val_0_0.mp4'),
        rng.integers(0, 256, (9, 32, 32, 3), dtype=np.uint8))
    return dict(
        root=root,
        data=str(data),
        clip=clip,
        video=mp4,
        raw=(raw, save_as_built_checkpoint(raw, root / 'raw.pth')),
        vid=(video, save_as_built_checkpoint(video, root / 'vid.pth')))


def test_a_clip_folder_and_a_video_of_one_stem_are_told_apart(same_stem):
    paths = show_paths([same_stem['clip'], same_stem['video']], 'vis', 'video')
    assert paths == {
        same_stem['clip']: osp.join('vis', 'val_0_0.frames.mp4'),
        same_stem['video']: osp.join('vis', 'val_0_0.mp4.mp4')
    }


def test_a_clip_folder_alone_keeps_its_name(same_stem):
    """Guard of the documented common case: a clip folder is drawn to its
    name and the suffix."""
    assert show_paths([same_stem['clip']], 'vis', 'video') == {
        same_stem['clip']: osp.join('vis', 'val_0_0.mp4')
    }


def test_the_tool_draws_each_to_its_own_name(infer, same_stem, tmp_path,
                                             capsys, clean_loggers):
    show = tmp_path / 'vis'
    assert infer([
        '--task', 'raw', *same_stem['raw'], '--task', 'vid', *same_stem['vid'],
        same_stem['data'], '--show-dir',
        str(show)
    ]) == 0
    assert sorted(
        os.listdir(show)) == ['val_0_0.frames.mp4', 'val_0_0.mp4.mp4']
    assert len(read_video(str(show / 'val_0_0.frames.mp4'))) == 12
    assert len(read_video(str(show / 'val_0_0.mp4.mp4'))) == 9


def test_a_show_dir_under_a_file_names_the_file(tmp_path):
    """Guard of kept behaviour (the walk up is now
    ``nearest_existing``'s)."""
    (tmp_path / 'f').write_text('x')
    show = str(tmp_path / 'f' / 'a' / 'b')
    assert show_dir_problem(show, {}, [], []) == \
        f'--show-dir {show}: {tmp_path / "f"} is a file, not a folder.'
    assert show_dir_problem(str(tmp_path / 'new' / 'vis'), {}, [], []) is None
