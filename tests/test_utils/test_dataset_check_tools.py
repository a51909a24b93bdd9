# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py`` and ``tools/test.py`` read every line of the lists of
the validation and test sets they will use before the Runner
(:func:`mmadaptformer.utils.dataset_check.refuse_malformed_video_list`)."""
import pytest
from helpers import TINY_VIDEO_CONFIG, run_tool, write_config
from refusal_lines import refused_line
from refused_runs import unread_checkpoint


def _lines(path) -> list:
    with open(path) as f:
        return f.read().split('\n')[:-1]


def _config(tmp_path, data, loader, dataset) -> str:
    """The tiny video config on ``data``, with the arguments ``dataset`` (a
    config dict's text) for the dataset of ``loader``."""
    body = ''
    for key, split in (('train_dataloader', 'train'),
                       ('val_dataloader', 'val'), ('test_dataloader', 'val')):
        extra = f', {dataset}' if key == loader else \
            f', ann_file={data[split]!r}'
        body += (f'{key} = dict(dataset=dict('
                 f"data_prefix=dict(video={data['videos']!r}){extra}))\n")
    return write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG, body)


def test_train_names_a_validation_line_past_the_first_twenty(
        tmp_path, tiny_video_data):
    """A comma-separated validation list (``delimiter=','``, as mmaction2's
    UniFormer recipes keep) with a line split by a space after its first
    20: only those were read, and the run ended in its first validation
    with ``FileNotFoundError: '.../val_0_0.mp4 0'``."""
    csv = [line.replace(' ', ',') for line in _lines(tiny_video_data['val'])]
    listed = tmp_path / 'val.csv'
    listed.write_text('\n'.join(csv * 3 + ['val_0_0.mp4 0']) + '\n')
    config = _config(
        tmp_path, tiny_video_data, 'val_dataloader',
        f"type='VideoDataset', ann_file={str(listed)!r}, delimiter=','")
    proc = run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(proc) == (
        f"ConfigError: {config}: val_dataloader.dataset.delimiter=',' "
        f"(VideoDataset) does not split line 25 of {listed}, 'val_0_0.mp4 "
        "0', into '<path> <label>' (1 field); split at ' ' it is the "
        f"existing video {tiny_video_data['videos']}/val_0_0.mp4 and label "
        "0: set val_dataloader.dataset.delimiter=' '.")
    assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('dataset_type',
                         ['VideoDataset', 'CheckedVideoDataset'])
def test_test_names_a_label_outside_num_classes(tmp_path, tiny_video_data,
                                                dataset_type):
    """A test list that counts its classes from 1 has a label equal to
    ``num_classes``: it was scored as it was, or ended the run from inside
    the Runner's test loop."""
    listed = tmp_path / 'test.txt'
    listed.write_text(''.join(f'{line.split()[0]} {int(line.split()[1]) + 1}\n'
                              for line in _lines(tiny_video_data['val'])))
    config = _config(
        tmp_path, tiny_video_data, 'test_dataloader',
        f'type={dataset_type!r}, ann_file={str(listed)!r}, num_classes=2')
    checkpoint = unread_checkpoint(tmp_path)
    proc = run_tool(
        ['test.py', config, checkpoint, '--work-dir', tmp_path / 'w'],
        cwd=tmp_path,
        check=False)
    first = _lines(listed)[0]
    assert first.endswith(' 1')
    line = refused_line(proc)
    assert line.startswith(
        f'ConfigError: {config}: test_dataloader.dataset.ann_file '
        f'({dataset_type}): line 5 of {listed}, '), line
    assert line.endswith('has the label 2, outside [0, 2) (num_classes=2); '
                         "a label is the class's index, from 0."), line
    assert not (tmp_path / 'w').exists()
