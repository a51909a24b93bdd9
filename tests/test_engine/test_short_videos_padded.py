# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A two-rank evaluation counts each short video once.

MMEngine's ``DefaultSampler`` pads the dataset to a multiple of the world
size with repeats of its first samples, whose results the evaluator drops:
``tools/dist_test.sh`` on HMDB51's 51 test videos, all shorter than a clip,
logged ``test: evaluated 52 videos shorter than a clip`` next to 51
results. The padding repeats are no longer counted."""
import re

from helpers import (TINY_VIDEO_CONFIG, run_ranks, save_stock_video_checkpoint,
                     write_config)
from tool_runners import free_port

from mmadaptformer.testing import make_moving_square_dataset


def _short_data(root):
    """3 test videos of 6 frames (a clip of the tiny config spans 10)."""
    data = make_moving_square_dataset(
        str(root), num_per_class=2, num_frames=6, splits=('val', ))
    with open(data['val']) as f:
        lines = f.readlines()[:3]
    with open(data['val'], 'w') as f:
        f.writelines(lines)
    return data


def test_two_ranks_count_three_short_test_videos_as_three(tmp_path):
    data = _short_data(tmp_path / 'data')
    body = (f'test_dataloader = dict(batch_size=1, dataset=dict('
            f"ann_file={data['val']!r}, "
            f"data_prefix=dict(video={data['videos']!r})))\n")
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG, body)
    checkpoint = str(tmp_path / 'full.pth')
    save_stock_video_checkpoint(checkpoint)
    proc = run_ranks(
        ['test.py', config, checkpoint, '--work-dir', tmp_path / 'w'],
        2,
        tmp_path,
        port=free_port())
    counts = re.findall(r'test: evaluated (\d+) videos? shorter than a clip',
                        proc.stdout)
    assert counts and set(counts) == {'3'}, proc.stdout[-3000:]
