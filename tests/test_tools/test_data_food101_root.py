# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/data/food101/build_file_list.py given another folder than the
dataset's root (``food-101/``) names the root to give, as the HMDB51 and
SSv2 data tools name the folder meant.

Before, ``build_file_list.py data OUT`` (the folder the dataset is in),
``data/food-101/images`` or ``data/food-101/meta`` said only ``Food-101
class list not found: data/meta/classes.txt``.
"""
import cv2
import numpy as np
import pytest
from helpers import run_tool

TOOL = 'data/food101/build_file_list.py'
CLASSES = ('apple_pie', 'baby_back_ribs')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """``data/food-101`` in the owners' layout: ``images/<class>/<id>.jpg``
    and ``meta/{classes,labels,train,test}.txt`` and their JSON."""
    data = tmp_path_factory.mktemp('food101_root') / 'data'
    root = data / 'food-101'
    (root / 'meta').mkdir(parents=True)
    train, test = [], []
    for name in CLASSES:
        (root / 'images' / name).mkdir(parents=True)
        for number in (100, 200, 300):
            assert cv2.imwrite(
                str(root / 'images' / name / f'{number}.jpg'),
                np.full((8, 8, 3), number % 255, np.uint8))
            (test if number == 300 else train).append(f'{name}/{number}')
    meta = root / 'meta'
    meta.joinpath('classes.txt').write_text('\n'.join(CLASSES) + '\n')
    meta.joinpath('labels.txt').write_text('Apple pie\nBaby back ribs\n')
    meta.joinpath('train.txt').write_text('\n'.join(train) + '\n')
    meta.joinpath('test.txt').write_text('\n'.join(test) + '\n')
    meta.joinpath('train.json').write_text('{}\n')
    meta.joinpath('test.json').write_text('{}\n')
    return data


def _last_line(args, cwd):
    proc = run_tool([TOOL, *args, '--num-classes', '2'], cwd=cwd, check=False)
    assert proc.returncode == 1, proc.stdout[-2000:]
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize('given, said', [
    ('data', 'data is the folder the dataset is in: give data/food-101 '
     'as ROOT'),
    ('data/food-101/images', 'data/food-101/images is the images/ folder '
     'inside the dataset: give data/food-101 as ROOT'),
    ('data/food-101/meta', 'data/food-101/meta is the meta/ folder inside '
     'the dataset: give data/food-101 as ROOT'),
    ('data/food-101/images/apple_pie', 'data/food-101/images/apple_pie is '
     'the images/apple_pie/ folder inside the dataset: give data/food-101 '
     'as ROOT'),
])
def test_a_folder_beside_the_root_names_the_root(data, tmp_path, given, said):
    assert _last_line([given, tmp_path / 'out'], data.parent) == (
        f'error: Food-101 class list not found: {given}/meta/classes.txt; '
        f'{said}')
    assert not (tmp_path / 'out').exists()


def test_the_root_named_builds_the_lists(data, tmp_path):
    """Guards kept behaviour: the root the hint names is the one that
    works; an absolute ROOT is named absolute."""
    root = data / 'food-101'
    assert _last_line([root / 'images', tmp_path / 'out'], tmp_path) == (
        f'error: Food-101 class list not found: {root}/images/meta/'
        f'classes.txt; {root}/images is the images/ folder inside the '
        f'dataset: give {root} as ROOT')
    proc = run_tool([TOOL, root, tmp_path / 'out', '--num-classes', '2'],
                    cwd=tmp_path)
    assert (tmp_path / 'out' / 'test.txt').read_text() == (
        'apple_pie/300.jpg 0\nbaby_back_ribs/300.jpg 1\n'), proc.stdout


def test_a_folder_unrelated_to_the_dataset_gets_no_hint(data, tmp_path):
    """Guards kept behaviour: nothing to point at, nothing added."""
    (tmp_path / 'elsewhere').mkdir()
    assert _last_line(['elsewhere', tmp_path / 'out'], tmp_path) == (
        'error: Food-101 class list not found: elsewhere/meta/classes.txt')
