# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py`` and ``tools/test.py`` build each dataset once a run,
before the work dir: its list is parsed by the dataset once (the line
check before it reads the list once too; that read is not counted here).

They built the evaluation datasets fully before the Runner, to refuse an
empty list or a missing video before the work dir, and the Runner built
them again: every validation or test list was read (and its videos
checked, its image folder scanned) twice a run. A training list that
lists nothing, or a missing training video that ``check_files='sample'``
finds, was met only by the Runner, after the work dir, its log and config
copy were made. The tools now read every dataset of the run first and
hand them to the Runner (``build_runner(cfg, datasets)``)."""
import json
import os.path as osp

import pytest
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, TOOLS,
                     image_data_cfg, run_fresh_python, run_tool,
                     save_as_built_checkpoint, video_data_cfg, write_config)
from mmengine.config import Config
from refusal_lines import refused_line

#: Runs ``tools/<argv[2]> argv[3:]`` as a user does, counting by file each
#: annotation list ``CheckedVideoDataset`` reads and each image folder
#: mmpretrain's ``CustomDataset`` scans for its samples (what the full
#: build of a dataset reads); the counts go to ``argv[1]`` as JSON.
COUNTING_RUN = '''
import atexit, collections, json, runpy, sys

import mmpretrain.datasets.custom as custom

import mmadaptformer
from mmadaptformer.datasets import CheckedVideoDataset

counts = collections.Counter()
read_list = CheckedVideoDataset.load_data_list
scan_folder = custom.get_samples


def load_data_list(self):
    counts[self.ann_file] += 1
    return read_list(self)


def get_samples(root, *args, **kwargs):
    counts[root] += 1
    return scan_folder(root, *args, **kwargs)


CheckedVideoDataset.load_data_list = load_data_list
custom.get_samples = get_samples
out = sys.argv[1]
atexit.register(lambda: json.dump(counts, open(out, 'w')))
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def _counted_run(tmp_path, args):
    """Run ``tools/<args[0]> args[1:]`` to its end; its output and
    ``{file or folder: times read}``."""
    counts = tmp_path / 'counts.json'
    proc = run_fresh_python(
        COUNTING_RUN,
        counts,
        osp.join(TOOLS, args[0]),
        *args[1:],
        cwd=tmp_path,
        separate_stderr=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    with open(counts) as f:
        return proc.stdout, json.load(f)


def _video_config(tmp_path, data, train_lines=None):
    """The tiny video config on ``data``, its training list replaced by
    ``train_lines`` if given; the config and the training list."""
    data = dict(data)
    if train_lines is not None:
        data['train'] = str(tmp_path / 'train_list.txt')
        with open(data['train'], 'w') as f:
            f.write(''.join(line + '\n' for line in train_lines))
    body = video_data_cfg(data) + 'train_cfg = dict(max_epochs=1)\n'
    return write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                        body), data['train']


def test_empty_training_list_before_the_work_dir(tmp_path, tiny_video_data):
    config, ann_file = _video_config(tmp_path, tiny_video_data, [])
    work = tmp_path / 'work'
    proc = run_tool(['train.py', config, '--work-dir', work],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(
        proc, absent=['Epoch(', 'Config of this run'], no_dir=work)
    assert line == (f'AnnotationError: {ann_file}: the annotation file '
                    'lists no videos'), line


def test_missing_training_video_before_the_work_dir(tmp_path, tiny_video_data):
    """``check_files='sample'`` (the default) looks the listed videos up
    when the dataset is built: now before the work dir."""
    with open(tiny_video_data['train']) as f:
        lines = f.read().splitlines()
    lines[2] = 'gone.mp4 0'
    config, ann_file = _video_config(tmp_path, tiny_video_data, lines)
    work = tmp_path / 'work'
    proc = run_tool(['train.py', config, '--work-dir', work],
                    cwd=tmp_path,
                    check=False)
    refused_line(proc, absent=['Epoch(', 'Config of this run'], no_dir=work)
    assert (f"FileNotFoundError: 1 of 8 checked videos (check_files='sample')"
            f' of {ann_file} do not exist') in proc.stdout, proc.stdout[-3000:]
    gone = osp.join(tiny_video_data['videos'], 'gone.mp4')
    assert f'{ann_file}:3: {gone}' in proc.stdout, proc.stdout[-3000:]


def _dumped_loaders(path):
    cfg = Config.fromfile(path)
    return {
        loader: cfg[loader].to_dict()
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    }


def test_video_training_reads_each_list_once(tmp_path, tiny_video_data):
    """The training and validation lists are parsed by their datasets
    once each (validation twice before), and so in a run resumed with
    ``--resume``; the config copies show the datasets' configs, as before,
    not the dataset objects the Runner was given."""
    config, _ = _video_config(tmp_path, tiny_video_data)
    work = tmp_path / 'work'
    out, counts = _counted_run(tmp_path,
                               ['train.py', config, '--work-dir', work])
    assert 'Epoch(val) [1]' in out, out[-3000:]
    assert counts == {tiny_video_data['train']: 1, tiny_video_data['val']: 1}
    expected = _dumped_loaders(config)
    copies = [work / 'cfg.py'] + list(work.glob('2*/cfg.py'))
    assert len(copies) == 2, copies
    for copy in copies:
        assert ' object at 0x' not in copy.read_text()
        assert _dumped_loaders(str(copy)) == expected, copy
    # Resumed for a second epoch: once each again.
    out, counts = _counted_run(tmp_path, [
        'train.py', config, '--work-dir', work, '--resume', '--cfg-options',
        'train_cfg.max_epochs=2'
    ])
    assert 'Epoch(train) [2]' in out and 'Epoch(train) [1]' not in out, \
        out[-3000:]
    assert counts == {tiny_video_data['train']: 1, tiny_video_data['val']: 1}


def test_video_test_reads_its_list_once(tmp_path, tiny_video_data):
    config, _ = _video_config(tmp_path, tiny_video_data)
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'm.pth')
    out, counts = _counted_run(
        tmp_path,
        ['test.py', config, checkpoint, '--work-dir', tmp_path / 'work'])
    assert 'Epoch(test) [8/8]' in out, out[-3000:]
    assert counts == {tiny_video_data['val']: 1}


@pytest.mark.parametrize('no_validate', [False, True])
def test_image_training_scans_each_folder_once(tmp_path, tiny_image_data,
                                               no_validate):
    """mmpretrain's ``CustomDataset`` without an ``ann_file`` lists the
    images of its folder when built: once a run (the validation folder
    twice before). With ``--no-validate`` the training folder alone, read
    once before too: that case guards kept behaviour."""
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) + 'train_cfg = dict(max_epochs=1)\n')
    args = ['train.py', config, '--work-dir', tmp_path / 'work']
    out, counts = _counted_run(tmp_path,
                               args + ['--no-validate'] * no_validate)
    assert 'Epoch(train) [1]' in out, out[-3000:]
    expected = {osp.join(tiny_image_data, 'train'): 1}
    if not no_validate:
        expected[osp.join(tiny_image_data, 'val')] = 1
    assert counts == expected
