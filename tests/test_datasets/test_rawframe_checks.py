# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The pre-run checks of a list of extracted frames (mmaction2's
``RawframeDataset``, read by ``RawFrameDecode``)
(:func:`mmadaptformer.utils.dataset_check.refuse_malformed_video_list`)
and the label range of a video dataset
(:mod:`mmadaptformer.datasets.image_label_range`)."""
import cv2
import numpy as np
import pytest
from rawframe_configs import rawframe_train_cfg

from mmadaptformer.datasets.image_label_range import labels_out_of_range
from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.dataloader_check import check_dataloaders

SOURCE = 'cfg.py'


@pytest.fixture
def frames(tmp_path):
    """``rawframes/vid_0`` and ``vid_1``, 6 jpgs each (``img_00001.jpg``
    on), and their list ``train.txt``."""
    for name in ('vid_0', 'vid_1'):
        folder = tmp_path / 'rawframes' / name
        folder.mkdir(parents=True)
        for index in range(1, 7):
            cv2.imwrite(
                str(folder / f'img_{index:05}.jpg'),
                np.full((8, 8, 3), index * 30, np.uint8))
    (tmp_path / 'train.txt').write_text('vid_0 6 0\nvid_1 6 1\n')
    return tmp_path


def _cfg(root, ann_file='train.txt', **dataset):
    return rawframe_train_cfg(root / ann_file, root / 'rawframes', **dataset)


def _refusal(cfg):
    with pytest.raises(ConfigError) as info:
        check_dataloaders(cfg, SOURCE, ['train_dataloader'])
    return str(info.value)


def test_a_valid_rawframe_config_passes(frames):
    check_dataloaders(_cfg(frames), SOURCE, ['train_dataloader'])
    (frames / 'offset.txt').write_text('vid_0 2 4 0\n')
    check_dataloaders(
        _cfg(frames, 'offset.txt', with_offset=True), SOURCE,
        ['train_dataloader'])


def test_a_missing_frame_folder_names_the_line_and_folder(frames):
    (frames / 'list.txt').write_text('vid_0 6 0\nvid_9 6 1\n')
    text = _refusal(_cfg(frames, 'list.txt'))
    assert text == (
        f'{SOURCE}: train_dataloader.dataset.data_prefix (RawframeDataset): '
        f"line 2 of {frames}/list.txt, 'vid_9 6 1', names the frame folder "
        f'{frames}/rawframes/vid_9, which does not exist (data_prefix '
        f"img='{frames}/rawframes' joined to 'vid_9').")


def test_more_frames_than_present_names_the_count(frames):
    (frames / 'list.txt').write_text('vid_0 6 0\nvid_1 9 1\n')
    text = _refusal(_cfg(frames, 'list.txt'))
    assert text == (
        f'{SOURCE}: train_dataloader.dataset.ann_file (RawframeDataset): '
        f"line 2 of {frames}/list.txt, 'vid_1 9 1', says "
        f'{frames}/rawframes/vid_1 holds 9 frames, img_00001.jpg to '
        'img_00009.jpg, but only the first 6 are there.')


def test_frames_counted_from_another_index_name_start_index(frames):
    text = _refusal(_cfg(frames, start_index=2))
    assert text.startswith(
        f'{SOURCE}: train_dataloader.dataset.start_index (RawframeDataset)')
    assert text.endswith('but only the first 5 are there; the frames start '
                         'at img_00001.jpg: set start_index=1.')


def test_a_wrong_filename_tmpl_names_the_files_present(frames):
    text = _refusal(_cfg(frames, filename_tmpl='frame_{:05}.jpg'))
    assert text == (
        f'{SOURCE}: train_dataloader.dataset.filename_tmpl '
        "(RawframeDataset): 'frame_{:05}.jpg' names the first frame of line "
        f"1 of {frames}/train.txt, 'vid_0 6 0', frame_00001.jpg "
        f'(start_index=1), but {frames}/rawframes/vid_0 has no such file; it '
        'holds 6 files (img_00001.jpg, img_00002.jpg, img_00003.jpg, ...).')
    text = _refusal(_cfg(frames, filename_tmpl='img_{x}.jpg'))
    assert "'img_{x}.jpg' cannot name a frame (KeyError: 'x')" in text


def test_a_line_without_a_frame_count_names_the_format(frames):
    (frames / 'list.txt').write_text('vid_0.mp4 x\n')
    text = _refusal(_cfg(frames, 'list.txt'))
    assert text.startswith(
        f'{SOURCE}: train_dataloader.dataset.ann_file (RawframeDataset): '
        f"line 1 of {frames}/list.txt, 'vid_0.mp4 x', is not "
        "'<frame_dir> <total_frames> <label>'")


def test_video_labels_outside_the_classes_are_named(frames):
    from mmaction.registry import DATASETS
    (frames / 'list.txt').write_text('vid_0 6 0\nvid_1 6 5\nvid_0 6\n')
    dataset = DATASETS.build(
        dict(
            type='RawframeDataset',
            ann_file=str(frames / 'list.txt'),
            data_prefix=dict(img=str(frames / 'rawframes')),
            pipeline=[]))
    assert labels_out_of_range(dataset, 2) == (
        '2 of 3 samples have a label outside [0, 2): '
        f'{frames}/rawframes/vid_1 (label 5), {frames}/rawframes/vid_0 '
        '(label -1) (mmaction2 gives a line without a label the label -1: '
        'each line needs its label)')
    dataset = DATASETS.build(
        dict(
            type='RawframeDataset',
            ann_file=str(frames / 'train.txt'),
            data_prefix=dict(img=str(frames / 'rawframes')),
            pipeline=[]))
    assert labels_out_of_range(dataset, 2) is None


def test_every_line_is_read_for_its_fields(frames):
    """Only the first 20 lines were read: a line of two labels after them
    ended the dataset's build in a bare ``AssertionError``."""
    (frames / 'list.txt').write_text('vid_0 6 0\n' * 30 + 'vid_1 6 0 1\n')
    assert _refusal(_cfg(frames, 'list.txt')) == (
        f'{SOURCE}: train_dataloader.dataset.ann_file (RawframeDataset): '
        f"line 31 of {frames}/list.txt, 'vid_1 6 0 1', has 2 labels, but "
        'the dataset takes one a line unless multi_class=True.')


def test_a_label_outside_num_classes_is_named(frames):
    (frames / 'list.txt').write_text('vid_0 6 0\n' * 30 + 'vid_1 6 2\n')
    assert _refusal(_cfg(frames, 'list.txt', num_classes=2)) == (
        f'{SOURCE}: train_dataloader.dataset.ann_file (RawframeDataset): '
        f"line 31 of {frames}/list.txt, 'vid_1 6 2', has the label 2, "
        "outside [0, 2) (num_classes=2); a label is the class's index, "
        'from 0.')
    check_dataloaders(
        _cfg(frames, 'list.txt', num_classes=3), SOURCE, ['train_dataloader'])
    text = _refusal(_cfg(frames, 'list.txt', multi_class=True))
    assert text.startswith(
        f'{SOURCE}: train_dataloader.dataset.num_classes (RawframeDataset): '
        'is not set, but multi_class=True needs it'), text


def test_frames_past_the_first_lines_are_looked_for(frames):
    """Past the first 20 lines, a seeded sample of 20 more is looked for
    on disk; a missing folder among them is named."""
    (frames / 'list.txt').write_text('vid_0 6 0\n' * 30 + 'vid_9 6 1\n')
    text = _refusal(_cfg(frames, 'list.txt'))
    assert f"line 31 of {frames}/list.txt, 'vid_9 6 1', names the frame " \
        f'folder {frames}/rawframes/vid_9, which does not exist' in text


@pytest.mark.parametrize('text,spaced', [('vid_0,6,0\n', 'vid_0 6 0'),
                                         ('vid_0 ; 6 ; 0\n', 'vid_0 6 0')])
def test_a_comma_separated_line_names_the_whitespace_split(
        frames, text, spaced):
    """``RawframeDataset`` takes no ``delimiter`` and splits at whitespace:
    a CSV-style line was named only as not ``'<frame_dir> <total_frames>
    <label>'``, without saying that its separator was the mistake."""
    (frames / 'list.txt').write_text(text)
    text = _refusal(_cfg(frames, 'list.txt'))
    assert text.endswith(
        '(the frame count and labels must be integers); RawframeDataset '
        'splits a line at whitespace only (it takes no delimiter): write it '
        f'{spaced!r}.'), text
    assert f'line 1 of {frames}/list.txt' in text


def test_a_line_that_no_separator_reads_gets_no_separator_hint(frames):
    """Guard of kept behaviour: a comma is not blamed for a line that does
    not read once split at it either."""
    (frames / 'list.txt').write_text('vid_0,six,0\n')
    text = _refusal(_cfg(frames, 'list.txt'))
    assert text.endswith('(the frame count and labels must be integers).')
