# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The tools refuse bad data on one line that blames what is wrong with it.

Before, ``tools/train.py`` blamed a video list line without a label, or
with a label that is no integer, on the ``delimiter`` (``delimiter=' '
... does not split line 2 ... (2 fields)``); a frame list line with a
comma after its folder (``'val_0_0,16 0'``) on a missing frame folder in
the config file, not the ``--cfg-options`` entry that named the list; and
training videos that were all skipped as short
(``short_videos='skip'``) on ``BrokenVideoError: 11 samples in a row
... could not be loaded``.
"""
import os.path as osp
import re

import pytest
from helpers import (TINY_ADAPTFORMER_RAWFRAMES_CONFIG, TINY_VIDEO_CONFIG,
                     run_tool)
from refusal_lines import refused_line


def _train(tmp_path, config, *options, work_dir_made=False):
    """The one line ``tools/train.py`` refuses ``config`` with."""
    work = tmp_path / 'w'
    proc = run_tool(
        ['train.py', config, '--work-dir', work, '--cfg-options'] +
        list(options),
        cwd=tmp_path,
        check=False)
    return refused_line(proc, no_dir=None if work_dir_made else work)


@pytest.mark.parametrize('line,what', [
    ('val_0_0.mp4', "has no label: CheckedVideoDataset needs '<path> "
     "<label>' on every line. A list without labels (its predictions "
     "alone) is tested with mmaction2's VideoDataset, which reads the "
     'label -1.'),
    ('val_0_1.mp4 x', "has the label 'x': expected a non-negative integer, "
     "the class's index from 0 (a line is '<path> <label>')."),
])
def test_a_video_line_without_an_integer_label_is_named(
        tmp_path, tiny_video_data, line, what):
    listed = tmp_path / 'list.txt'
    listed.write_text(f'val_0_0.mp4 0\n{line}\n')
    videos = tiny_video_data['videos']
    assert _train(
        tmp_path, TINY_VIDEO_CONFIG,
        f'train_dataloader.dataset.ann_file={listed}',
        f'train_dataloader.dataset.data_prefix.video={videos}') == (
            f'ConfigError: --cfg-options train_dataloader.dataset.ann_file='
            f"'{listed}' (CheckedVideoDataset): line 2 of {listed}, {line!r}, "
            f'{what}')


def test_a_frame_line_with_a_comma_names_the_comma(tmp_path):
    from mmadaptformer.testing import make_moving_square_rawframes
    make_moving_square_rawframes(str(tmp_path / 'data' / 'tiny_rawframes'))
    listed = tmp_path / 'list.txt'
    listed.write_text('val_0_0 16 0\nval_0_0,16 0\n')
    assert _train(
        tmp_path, TINY_ADAPTFORMER_RAWFRAMES_CONFIG,
        f'train_dataloader.dataset.ann_file={listed}'
    ) == (f'ConfigError: --cfg-options train_dataloader.dataset.ann_file='
          f"'{listed}' (RawframeDataset): line 2 of {listed}, 'val_0_0,16 "
          "0', names the frame folder 'val_0_0,16' "
          '(data/tiny_rawframes/rawframes/val_0_0,16), which does not exist; '
          'RawframeDataset splits a line at whitespace only (it takes no '
          "delimiter): write it 'val_0_0 16 0'.")


def test_training_videos_all_short_are_named_short(tmp_path, tiny_video_data):
    # The config's data_root, data/tiny_video: 16-frame videos.
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'tiny_video').symlink_to(
        osp.dirname(tiny_video_data['videos']))
    line = _train(
        tmp_path,
        TINY_VIDEO_CONFIG,
        'train_dataloader.dataset.short_videos=skip',
        'train_dataloader.dataset.min_frames=100',
        work_dir_made=True)
    assert line.startswith(
        'ShortVideoError: CheckedVideoDataset: the 11 samples drawn in a row '
        'from data/tiny_video/train.txt (max_refetch=10) were all videos '
        "shorter than a clip, skipped with short_videos='skip' (none was "
        'broken): '), line
    # Which videos are drawn depends on the (unseeded) shuffle.
    assert re.search(
        r'data/tiny_video/videos/train_\d_\d\.mp4 \(16 of 100 frames\)',
        line), line
    assert line.endswith(
        'A clip needs 100 frames (min_frames; by default the frames one clip '
        'of the pipeline spans, (clip_len - 1) * frame_interval + 1 for '
        "SampleFrames). Set short_videos='report' to train on them with "
        'repeated frames, lower min_frames or the clip span, or list longer '
        'videos.'), line
