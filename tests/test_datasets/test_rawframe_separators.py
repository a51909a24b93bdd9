# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A frame list line whose frame folder is followed by a ``','`` or
``';'`` rather than whitespace (``'vid_0,6 0'``).

``RawframeDataset`` splits at whitespace only, so it read the folder
``vid_0,6`` and 0 frames: the line was refused as a missing frame folder,
blamed on ``data_prefix`` in the config file (not on the list, nor on the
``--cfg-options`` entry that named it), without a word about the comma,
and only if it was among the lines looked at on disk."""
import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.dataloader_check import check_dataloaders
from mmadaptformer.utils.rawframe_ann_file import malformed_rawframe_list

SOURCE = 'cfg.py'
KEY = 'train_dataloader.dataset.ann_file'


@pytest.fixture
def frames(tmp_path):
    """``rawframes/vid_0`` and ``vid_1``, 6 jpgs each (``img_00001.jpg``
    on)."""
    for name in ('vid_0', 'vid_1'):
        folder = tmp_path / 'rawframes' / name
        folder.mkdir(parents=True)
        for index in range(1, 7):
            cv2.imwrite(
                str(folder / f'img_{index:05}.jpg'),
                np.full((8, 8, 3), index * 30, np.uint8))
    return tmp_path


def _dataset(root, ann_file):
    return dict(
        type='RawframeDataset',
        ann_file=str(root / ann_file),
        data_prefix=dict(img=str(root / 'rawframes')),
        filename_tmpl='img_{:05}.jpg',
        pipeline=[
            dict(type='SampleFrames', clip_len=4, num_clips=1),
            dict(type='RawFrameDecode'),
        ])


def _refusal(root, ann_file, options=None):
    cfg = Config(
        dict(
            default_scope='mmaction',
            train_dataloader=dict(
                batch_size=1,
                sampler=dict(type='DefaultSampler', shuffle=True),
                dataset=_dataset(root, ann_file))))
    with pytest.raises(ConfigError) as info:
        check_dataloaders(cfg, SOURCE, ['train_dataloader'], options)
    return str(info.value)


@pytest.mark.parametrize('separator', [',', ';'])
def test_the_separator_is_named_and_the_cfg_option_blamed(frames, separator):
    ann_file = frames / 'list.txt'
    line = f'vid_1{separator}6 1'
    ann_file.write_text(f'vid_0 6 0\n{line}\n')
    text = _refusal(frames, 'list.txt', {KEY: str(ann_file)})
    assert text == (
        f"--cfg-options {KEY}='{ann_file}' (RawframeDataset): line 2 of "
        f'{ann_file}, {line!r}, names the frame folder '
        f"'vid_1{separator}6' ({frames}/rawframes/vid_1{separator}6), which "
        'does not exist; RawframeDataset splits a line at whitespace only '
        "(it takes no delimiter): write it 'vid_1 6 1'.")
    # Without the option, the config file's ann_file.
    assert _refusal(
        frames,
        'list.txt').startswith(f'{SOURCE}: {KEY} (RawframeDataset): line 2 of')


def test_every_line_is_read_for_it(frames):
    """Also a line whose frames are not looked for on disk."""
    from mmaction.registry import DATASETS
    (frames / 'list.txt').write_text('vid_0 6 0\n' * 30 + 'vid_1,6 1\n')
    dataset = DATASETS.build(
        dict(_dataset(frames, 'list.txt'), pipeline=[], lazy_init=True))
    bad = malformed_rawframe_list(dataset, head=1, sample=0)
    assert bad.argument == 'ann_file'
    assert bad.what.startswith(f"line 31 of {frames}/list.txt, 'vid_1,6 1',")


def test_a_frame_folder_named_with_a_comma_is_read(frames):
    """Guard of kept behaviour: a folder that has a comma in its name is
    read as it is."""
    (frames / 'rawframes' / 'vid_0').rename(frames / 'rawframes' / 'vid,6')
    (frames / 'list.txt').write_text('vid,6 6 0\nvid_1 6 1\n')
    cfg = Config(
        dict(
            default_scope='mmaction',
            train_dataloader=dict(
                batch_size=1,
                sampler=dict(type='DefaultSampler', shuffle=True),
                dataset=_dataset(frames, 'list.txt'))))
    check_dataloaders(cfg, SOURCE, ['train_dataloader'])
