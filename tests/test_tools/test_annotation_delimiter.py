# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A video dataset's ``delimiter`` that does not fit its annotation list.

mmaction2's UniFormer recipes set ``delimiter=','`` (CSV-style Kinetics
lists). Run on a list of ``<path> <label>`` lines, ``VideoDataset`` took
each whole line as a path and ``tools/test.py`` ended with
``FileNotFoundError: '.../val_0_0.mp4 0'``; ``CheckedVideoDataset`` named
the line but not the config key, after the work dir was made. Now both
tools refuse the config before the Runner, in one line naming the list,
the line, the key and the delimiter that splits it.
"""
import os.path as osp

import pytest
from helpers import TINY_VIDEO_CONFIG, run_tool, write_config
from refusal_lines import refused_line
from refused_runs import unread_checkpoint


def _config(tmp_path, data, dataset_type, delimiter, lists=None):
    """The tiny video config on ``data`` with every dataset of
    ``dataset_type`` and ``delimiter``; ``lists`` replaces the
    ``{split: ann_file}`` of ``data``."""
    lists = dict(data, **(lists or {}))
    body = ''
    for loader, split in (('train_dataloader', 'train'),
                          ('val_dataloader', 'val'), ('test_dataloader',
                                                      'val')):
        body += (f'{loader} = dict(dataset=dict(type={dataset_type!r}, '
                 f'ann_file={lists[split]!r}, delimiter={delimiter!r}, '
                 f"data_prefix=dict(video={data['videos']!r})))\n")
    return write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG, body)


def _comma_delimited_test(tmp_path, data, name, separator):
    """The val list of ``data`` with ``separator`` between path and label,
    written to ``name``; the config of :func:`_config` (``VideoDataset``,
    ``delimiter=','``) tested on it; a stock checkpoint to test."""
    from helpers import save_stock_video_checkpoint
    rewritten = tmp_path / name
    with open(data['val']) as f:
        rewritten.write_text(f.read().replace(' ', separator))
    config = _config(tmp_path, data, 'VideoDataset', ',',
                     dict(val=str(rewritten)))
    checkpoint = str(tmp_path / 'full.pth')
    save_stock_video_checkpoint(checkpoint)
    return rewritten, config, checkpoint


def _test_refusal(tmp_path, config, checkpoint) -> str:
    """The one line ``tools/test.py`` refuses ``config`` with, before it
    makes the work dir."""
    proc = run_tool(
        ['test.py', config, checkpoint, '--work-dir', tmp_path / 'w'],
        cwd=tmp_path,
        check=False)
    return refused_line(proc, no_dir=tmp_path / 'w')


@pytest.mark.parametrize('dataset_type',
                         ['CheckedVideoDataset', 'VideoDataset'])
def test_test_names_the_delimiter_that_splits_the_list(tmp_path,
                                                       tiny_video_data,
                                                       dataset_type):
    config = _config(tmp_path, tiny_video_data, dataset_type, ',')
    checkpoint = unread_checkpoint(tmp_path)
    video = osp.join(tiny_video_data['videos'], 'val_0_0.mp4')
    assert _test_refusal(tmp_path, config, checkpoint) == (
        f"ConfigError: {config}: test_dataloader.dataset.delimiter=',' "
        f'({dataset_type}) does not split line 1 of '
        f"{tiny_video_data['val']}, 'val_0_0.mp4 0', into '<path> <label>' "
        f"(1 field); split at ' ' it is the existing video {video} and "
        "label 0: set test_dataloader.dataset.delimiter=' '.")


def test_train_names_a_tab_separated_list_of_stock_video_dataset(
        tmp_path, tiny_video_data):
    """mmaction2's ``VideoDataset`` splits at each single space by
    default: a line ``<path>\\t<label>`` was a video without a label."""
    tabbed = tmp_path / 'train.tsv'
    with open(tiny_video_data['train']) as f:
        tabbed.write_text(f.read().replace(' ', '\t'))
    config = _config(tmp_path, tiny_video_data, 'VideoDataset', ' ',
                     dict(train=str(tabbed)))
    proc = run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, no_dir=tmp_path / 'w')
    assert line.startswith(
        f"ConfigError: {config}: train_dataloader.dataset.delimiter=' ' "
        f'(VideoDataset) does not split line 1 of {tabbed}, '
        "'train_0_0.mp4\\t0', into '<path> <label>' (1 field); split at "
        "'\\t' it is the existing video "), line
    assert line.endswith("set train_dataloader.dataset.delimiter='\\t'."), line


def test_test_reads_a_comma_separated_list_as_before(tmp_path,
                                                     tiny_video_data):
    """A list that fits ``delimiter=','`` is tested on, every video."""
    _, config, checkpoint = _comma_delimited_test(tmp_path, tiny_video_data,
                                                  'val.csv', ',')
    proc = run_tool([
        'test.py', config, checkpoint, '--work-dir', tmp_path / 'w',
        '--cfg-options', 'test_dataloader.batch_size=8'
    ],
                    cwd=tmp_path)
    assert 'acc/top1' in proc.stdout, proc.stdout[-3000:]
    assert 'Epoch(test) [1/1]' in proc.stdout, proc.stdout[-3000:]


@pytest.mark.parametrize('option,value', [('delimiter=,', "['']"),
                                          ('delimiter= ', "''")])
def test_train_names_a_delimiter_that_cfg_options_made_unusable(
        tmp_path, tiny_video_data, option, value):
    """MMEngine's ``--cfg-options`` reads ``delimiter=,`` as a list and
    drops the space of ``delimiter= ``: the list check itself ended in a
    ``TypeError: must be str or None, not list`` (or ``ValueError: empty
    separator``) traceback."""
    config = _config(tmp_path, tiny_video_data, 'CheckedVideoDataset', ' ')
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        'train_dataloader.dataset.' + option
    ],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(
        proc, no_dir=tmp_path / 'w'
    ) == (
        f'ConfigError: --cfg-options train_dataloader.dataset.delimiter='
        f'{value} (CheckedVideoDataset): the delimiter that splits each line '
        "of the list must be a non-empty str, such as ' ' or ',': "
        '--cfg-options reads a value with a comma as a list and removes '
        'spaces, so set the delimiter in the config file.')


def test_test_names_a_list_split_by_runs_of_spaces(tmp_path, tiny_video_data):
    """Under ``delimiter=','`` a line ``'val_0_0.mp4  0'`` (two spaces)
    is split by no single delimiter: ``VideoDataset`` read it as a video
    without a label, the list check passed it, and ``tools/test.py``
    ended in a ``FileNotFoundError`` traceback for ``'.../val_0_0.mp4
    0'``, after the work dir and the model were made."""
    spaced, config, checkpoint = _comma_delimited_test(tmp_path,
                                                       tiny_video_data,
                                                       'val.txt', '  ')
    video = osp.join(tiny_video_data['videos'], 'val_0_0.mp4')
    assert _test_refusal(tmp_path, config, checkpoint) == (
        f"ConfigError: {config}: test_dataloader.dataset.delimiter=',' "
        f'(VideoDataset) does not split line 1 of {spaced}, '
        "'val_0_0.mp4  0', into '<path> <label>' (1 field); split at any "
        f'run of whitespace it is the existing video {video} and label 0, '
        "but VideoDataset splits at each single ',': set delimiter=None "
        "(any run of whitespace), or write the line 'val_0_0.mp4,0'.")
