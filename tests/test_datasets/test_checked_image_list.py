# Copyright (c) mmadaptformer contributors. All rights reserved.
"""CheckedImageDataset with an ``ann_file``: an empty list and listed images
that are not there are named with the file and the line, as
CheckedVideoDataset names them, before anything trains."""
import re

import pytest
from helpers import TINY_IMAGE_CONFIG, run_tool
from mmengine.registry import DefaultScope

from mmadaptformer.datasets import AnnotationError, CheckedImageDataset
from mmadaptformer.testing import make_stripes_dataset

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
LINES = [
    f'{c}/{i}.png {label}'
    for label, c in enumerate(('horizontal', 'vertical')) for i in range(4)
]


@pytest.fixture(scope='module')
def image_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('stripes')
    make_stripes_dataset(str(root))
    return root


def _dataset(root, lines, **kwargs):
    ann = root / 'list.txt'
    ann.write_text(''.join(f'{line}\n' for line in lines))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return CheckedImageDataset(
            data_root=str(root),
            ann_file='list.txt',
            data_prefix='train',
            classes=['horizontal', 'vertical'],
            pipeline=PIPELINE,
            **kwargs), f'{root}/list.txt'


def test_empty_annotation_file_is_named(image_root):
    """It ended the run with numpy's ``ValueError: need at least one array
    to concatenate`` and a traceback through MMEngine's serialisation."""
    with pytest.raises(
            AnnotationError,
            match=re.escape(f'{image_root}/list.txt: the annotation file '
                            'lists no images')):
        _dataset(image_root, [])


def test_listed_images_that_are_missing_are_named_with_their_lines(image_root):
    """A missing image was skipped in every training epoch as a broken
    one, with a warning that named no line of the list."""
    lines = list(LINES)
    lines[2] = 'horizontal/nowhere.png 0'
    with pytest.raises(FileNotFoundError) as info:
        _dataset(image_root, lines)
    message = str(info.value)
    assert message.startswith(
        "1 of 8 checked images (check_files='sample') of "
        f'{image_root}/list.txt do not exist:\n')
    assert (f'  {image_root}/list.txt:3: '
            f'{image_root}/train/horizontal/nowhere.png') in message


def test_check_files_none_leaves_missing_images_to_training(image_root):
    """``check_files=None`` (new, as CheckedVideoDataset's) looks nothing
    up: training then skips the file as broken, as it did before."""
    lines = list(LINES)
    lines[2] = 'horizontal/nowhere.png 0'
    dataset, _ = _dataset(image_root, lines, check_files=None)
    assert len(dataset) == 8


def test_a_good_list_loads(image_root):
    """Kept behaviour: a complete list loads with its labels."""
    dataset, _ = _dataset(image_root, LINES)
    assert [dataset.get_data_info(i)['gt_label']
            for i in range(len(dataset))] == [0] * 4 + [1] * 4


def test_train_py_names_the_missing_image_and_its_line(tmp_path):
    """What a user ran: tools/train.py on a list with a missing image went
    on training (exit status 0), skipping it every epoch."""
    root = tmp_path / 'data' / 'tiny_image'  # the config's data_root
    make_stripes_dataset(str(root))
    lines = list(LINES)
    lines[2] = 'horizontal/nowhere.png 0'
    (root / 'bad.txt').write_text(''.join(f'{x}\n' for x in lines))
    proc = run_tool([
        'train.py', TINY_IMAGE_CONFIG, '--work-dir', 'w', '--cfg-options',
        'train_dataloader.dataset.type=CheckedImageDataset',
        'train_dataloader.dataset.ann_file=bad.txt',
        'train_dataloader.dataset.classes=[horizontal,vertical]'
    ],
                    tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert 'Traceback' not in proc.stdout
    assert ('data/tiny_image/bad.txt:3: '
            'data/tiny_image/train/horizontal/nowhere.png') in proc.stdout
    assert not list((tmp_path / 'w').glob('*.pth'))
