# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An evaluation list that the full build of its dataset refuses (it lists
no videos; a video it lists is missing) is refused before the work dir:
``tools/train.py`` and ``tools/test.py`` made the work dir, its log and
config copy and built the model first, and the Runner's validation or test
loop met it."""
import pytest
from helpers import (TINY_VIDEO_CONFIG, run_tool, save_as_built_checkpoint,
                     video_data_cfg, write_config)
from refusal_lines import refused_line

from mmadaptformer.utils.early_datasets import read_datasets


def _list_config(tmp_path, data, split, lines):
    """The tiny video config with ``split`` ('val': validation and test
    lists) reading a list of ``lines``; the config and the list."""
    ann_file = str(tmp_path / f'{split}_list.txt')
    with open(ann_file, 'w') as f:
        f.write(''.join(line + '\n' for line in lines))
    data = dict(data, **{split: ann_file})
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(data))
    return config, ann_file


def _with_missing_video(data):
    with open(data['val']) as f:
        lines = f.read().splitlines()
    lines[1] = 'gone.mp4 0'
    return lines


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_missing_evaluation_video_before_the_work_dir(tmp_path,
                                                      tiny_video_data, tool):
    config, ann_file = _list_config(tmp_path, tiny_video_data, 'val',
                                    _with_missing_video(tiny_video_data))
    work = tmp_path / 'work'
    args = [tool, config]
    if tool == 'test.py':
        args.append(save_as_built_checkpoint(config, tmp_path / 'm.pth'))
    proc = run_tool(args + ['--work-dir', work], cwd=tmp_path, check=False)
    refused_line(proc, absent=['Epoch(', 'Config of this run'], no_dir=work)
    assert f'FileNotFoundError: 1 of 8 videos of {ann_file} are missing' \
        in proc.stdout, proc.stdout[-3000:]
    # The file and line at fault.
    assert f'{ann_file}:2: ' in proc.stdout, proc.stdout[-3000:]


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_empty_evaluation_list_before_the_work_dir(tmp_path, tiny_video_data,
                                                   tool):
    config, ann_file = _list_config(tmp_path, tiny_video_data, 'val', [])
    work = tmp_path / 'work'
    args = [tool, config]
    if tool == 'test.py':
        args.append(save_as_built_checkpoint(config, tmp_path / 'm.pth'))
    proc = run_tool(args + ['--work-dir', work], cwd=tmp_path, check=False)
    line = refused_line(
        proc, absent=['Epoch(', 'Config of this run'], no_dir=work)
    assert line == (f'AnnotationError: {ann_file}: the annotation file '
                    'lists no videos'), line


def test_a_dataset_that_may_download_is_left_to_the_runner(tmp_path):
    """mmpretrain's CIFAR with ``download=True`` downloads when built: the
    Runner builds it once the ranks' process group is up (rank 0 downloads,
    the others wait), not each rank at once before it."""
    from mmengine.dataset import ConcatDataset
    from mmpretrain.datasets import CIFAR10
    kept = CIFAR10(data_root=str(tmp_path), download=True, lazy_init=True)
    wrapped = ConcatDataset([kept], lazy_init=True)
    read_datasets({'val_dataloader': wrapped}, ['val_dataloader'])
    assert not kept._fully_initialized
    read = CIFAR10(data_root=str(tmp_path), download=False, lazy_init=True)
    with pytest.raises(RuntimeError, match='Cannot find CIFAR10 dataset'):
        read_datasets({'val_dataloader': read}, ['val_dataloader'])
    # A loader that check_datasets did not build is left alone.
    read_datasets({}, ['val_dataloader'])
