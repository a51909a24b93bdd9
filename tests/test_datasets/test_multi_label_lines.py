# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A video list line with two labels in a dataset without ``multi_class``.

``'val_0_0.mp4 0 1'`` was refused as a line that the dataset's
``delimiter`` does not split into ``'<path> <label>'`` (3 fields), as if
the path held a space. Now it is named for what it is, a line with more
than one label, with both ways out (``multi_class=True`` with
``num_classes``, or fixing the line), by the tools' config check and by
``CheckedVideoDataset`` built from Python. A path that really holds a
space keeps the delimiter's advice.
"""
import os.path as osp
import shutil

import pytest
from config_writers import write_config
from mmengine.registry import init_default_scope
from refusal_lines import refused_line
from refused_runs import unread_checkpoint
from repo_paths import TINY_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.datasets.annotation_lists import AnnotationError


def _list(tmp_path, data, first_line):
    """The val list of ``data`` with ``first_line`` in place of its
    first."""
    with open(data['val']) as f:
        lines = f.read().splitlines()
    path = tmp_path / 'val.txt'
    path.write_text('\n'.join([first_line] + lines[1:]) + '\n')
    return str(path)


def _refusal(tmp_path, data, dataset_type, ann_file):
    """The one line ``tools/test.py`` refuses the tiny video config with,
    its test set ``ann_file`` read by ``dataset_type``."""
    config = write_config(
        tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
        f'test_dataloader = dict(dataset=dict(type={dataset_type!r}, '
        f'ann_file={ann_file!r}, '
        f"data_prefix=dict(video={data['videos']!r})))\n")
    checkpoint = unread_checkpoint(tmp_path)
    proc = run_tool(
        ['test.py', config, checkpoint, '--work-dir', tmp_path / 'w'],
        cwd=tmp_path,
        check=False)
    return config, refused_line(proc, no_dir=tmp_path / 'w')


@pytest.mark.parametrize('dataset_type',
                         ['CheckedVideoDataset', 'VideoDataset'])
def test_two_labels_are_named_as_such(tmp_path, tiny_video_data, dataset_type):
    ann_file = _list(tmp_path, tiny_video_data, 'val_0_0.mp4 0 1')
    config, line = _refusal(tmp_path, tiny_video_data, dataset_type, ann_file)
    assert line == (
        f'ConfigError: {config}: test_dataloader.dataset.ann_file '
        f"({dataset_type}): line 1 of {ann_file}, 'val_0_0.mp4 0 1', has "
        f'2 labels (0, 1), but {dataset_type} reads one label per line '
        '(multi_class=False): for a multi-label list set multi_class=True '
        'on the dataset, with its num_classes (each video gets a target of '
        "num_classes entries); else fix the line to '<path> <label>'.")


def test_a_path_with_a_space_keeps_the_delimiter_advice(
        tmp_path, tiny_video_data):
    """Guard of kept behaviour: ``'my clip.mp4 0'``, a video whose name
    holds a space, is still a problem of the delimiter."""
    videos = tmp_path / 'videos'
    shutil.copytree(tiny_video_data['videos'], videos)
    shutil.copy(videos / 'val_0_0.mp4', videos / 'my clip.mp4')
    data = dict(tiny_video_data, videos=str(videos))
    ann_file = _list(tmp_path, data, 'my clip.mp4 0')
    config, line = _refusal(tmp_path, data, 'CheckedVideoDataset', ann_file)
    assert line == (
        f"ConfigError: {config}: test_dataloader.dataset.delimiter=' ' "
        f'(CheckedVideoDataset) does not split line 1 of {ann_file}, '
        "'my clip.mp4 0', into '<path> <label>' (3 fields).")


def test_an_existing_name_with_a_space_and_a_number_is_a_path(
        tmp_path, tiny_video_data):
    """Guard of kept behaviour: ``'clip.v2 1 0'`` with a video
    ``'clip.v2 1'``: its fields are a name with an extension and two
    integers, but the first two name the file, so the delimiter's advice
    stays."""
    videos = tmp_path / 'videos'
    shutil.copytree(tiny_video_data['videos'], videos)
    shutil.copy(videos / 'val_0_0.mp4', videos / 'clip.v2 1')
    data = dict(tiny_video_data, videos=str(videos))
    ann_file = _list(tmp_path, data, 'clip.v2 1 0')
    _, line = _refusal(tmp_path, data, 'VideoDataset', ann_file)
    assert "test_dataloader.dataset.delimiter=' ' (VideoDataset) does " \
        'not split line 1' in line
    assert 'multi_class' not in line


def _build(ann_file, videos, **kwargs):
    from mmadaptformer.datasets import CheckedVideoDataset
    init_default_scope('mmaction')
    return CheckedVideoDataset(
        ann_file=ann_file,
        data_prefix=dict(video=videos),
        pipeline=[],
        **kwargs)


def test_checked_video_dataset_built_from_python(tmp_path, tiny_video_data):
    ann_file = _list(tmp_path, tiny_video_data, 'val_0_0.mp4 0 1')
    with pytest.raises(AnnotationError) as info:
        _build(ann_file, tiny_video_data['videos'])
    assert str(info.value) == (
        f"{ann_file}:1: the line 'val_0_0.mp4 0 1' has 2 labels (0, 1), "
        'but CheckedVideoDataset reads one label per line '
        '(multi_class=False): for a multi-label list set multi_class=True '
        'on the dataset, with its num_classes (each video gets a target of '
        "num_classes entries); else fix the line to '<path> <label>'.")
    # Its first way out reads the list: a multi-hot target.
    dataset = _build(
        ann_file, tiny_video_data['videos'], multi_class=True, num_classes=3)
    assert dataset.get_data_info(0)['label'].tolist() == [1., 1., 0.]
    assert osp.basename(dataset.get_data_info(0)['filename']) == \
        'val_0_0.mp4'
