# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Class names of an mmpretrain ``CustomDataset`` that lists its class
folders must fit the folders: its labels follow the sorted folders, not the
names."""
import pytest
from mmengine.config import Config
from mmpretrain.datasets import CustomDataset

from mmadaptformer.testing import make_stripes_dataset
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.dataset_check import check_datasets


def _config(root, **dataset):
    dataset = dict(
        type='CustomDataset',
        data_root=str(root),
        data_prefix='train',
        pipeline=[dict(type='LoadImageFromFile')],
        **dataset)
    return Config(
        dict(
            default_scope='mmpretrain',
            train_dataloader=dict(dataset=dataset)))


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp('images')
    make_stripes_dataset(str(root))
    return root


def _folders(root):
    return sorted(p.name for p in (root / 'train').iterdir() if p.is_dir())


def test_names_in_another_order_than_the_folders_are_refused(root):
    """mmpretrain labels the folders in sorted order and only counts the
    names, so reversed names trained every image under the other class's
    name, which the checkpoints recorded."""
    folders = _folders(root)
    assert len(folders) == 2
    names = folders[::-1]
    built = CustomDataset(
        data_root=str(root), data_prefix='train', classes=names)
    first = built.get_data_info(0)
    assert f'/{folders[0]}/' in first['img_path']
    assert built.metainfo['classes'][first['gt_label']] == folders[1]

    with pytest.raises(ConfigError) as error:
        check_datasets(
            _config(root, classes=names), 'c.py', ['train_dataloader'])
    assert str(error.value) == (
        'c.py: train_dataloader.dataset.classes (CustomDataset): the class '
        f'names {tuple(names)} name the class folders in another order: '
        'without an ann_file, CustomDataset gives label i to the i-th class '
        f'folder of {root}/train in sorted order (0: {folders[0]!r}, 1: '
        f'{folders[1]!r}), so label 0 (the folder {folders[0]!r}) would be '
        f'named {folders[1]!r}, label 1 (the folder {folders[1]!r}) would be '
        f"named {folders[0]!r}; list the names in the folders' order.")


def test_a_count_other_than_the_folders_is_named_before_the_runner(root):
    """The full build asserted the count from inside the Runner."""
    folders = _folders(root)
    options = {'train_dataloader.dataset.metainfo.classes': ['only']}
    cfg = _config(root, metainfo=dict(classes=['only']))
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['train_dataloader'], options)
    assert str(error.value).startswith(
        "--cfg-options train_dataloader.dataset.metainfo.classes=['only'] "
        "(CustomDataset): 1 class names ('only',) for 2 class folders: ")
    assert f'1: {folders[1]!r}); give one name per folder' in str(error.value)


@pytest.mark.parametrize('names', [None, 'folders', ['a', 'b']])
def test_the_folders_names_or_renames_pass(root, names):
    """A name per folder that names no other folder is a rename (synset
    folders with readable names), not a mistake."""
    if names == 'folders':
        names = _folders(root)
    dataset = {} if names is None else dict(classes=names)
    check_datasets(_config(root, **dataset), 'c.py', ['train_dataloader'])


def test_an_annotation_list_is_not_checked(root):
    """With an ann_file the labels are the list's, and names in any order
    are right."""
    names = _folders(root)[::-1]
    ann = root / 'train.txt'
    ann.write_text('')
    check_datasets(
        _config(root, classes=names, ann_file=str(ann)), 'c.py',
        ['train_dataloader'])
