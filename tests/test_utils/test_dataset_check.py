# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every dataset of a dataloader is built up front without reading its
data, wrapped and concatenated datasets included; the dataset at fault is
named."""
import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS, init_default_scope

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.dataset_check import (check_datasets, dataset_nodes,
                                               lazily_built, missing_data)


def _config(**loaders):
    return Config(dict(default_scope='mmpretrain', **loaders))


def _custom(tmp_path, **kwargs):
    """An mmpretrain CustomDataset on an empty folder: built in full, it
    raises a RuntimeError once it has listed the folder."""
    (tmp_path / 'empty').mkdir(exist_ok=True)
    return dict(
        dict(
            type='CustomDataset',
            data_root=str(tmp_path / 'empty'),
            pipeline=[dict(type='LoadImageFromFile')]), **kwargs)


def _concat(tmp_path, inner=None):
    return dict(
        type='ConcatDataset',
        datasets=[
            _custom(tmp_path),
            dict(
                type='RepeatDataset',
                times=2,
                dataset=inner or _custom(tmp_path)),
        ])


def test_wrapped_datasets_are_built_without_reading_their_data(tmp_path):
    cfg = _config(train_dataloader=dict(dataset=_concat(tmp_path)))
    assert [
        key for key, _ in dataset_nodes(cfg.train_dataloader.dataset,
                                        'train_dataloader.dataset')
    ] == [
        'train_dataloader.dataset',
        'train_dataloader.dataset.datasets[0]',
        'train_dataloader.dataset.datasets[1]',
        'train_dataloader.dataset.datasets[1].dataset',
    ]
    # The folder is empty; only a full build would list it.
    check_datasets(cfg, 'c.py', ['train_dataloader', 'val_dataloader'])
    with pytest.raises(RuntimeError, match='Found 0 files'):
        DATASETS.build(_custom(tmp_path))
    # The config itself is left as it was.
    assert 'lazy_init' not in cfg.train_dataloader.dataset


def test_the_dataset_at_fault_is_named(tmp_path):
    cfg = _config(
        train_dataloader=dict(
            dataset=_concat(tmp_path, _custom(tmp_path, extensions=5))))
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['train_dataloader'])
    assert str(error.value) == (
        'c.py: train_dataloader.dataset.datasets[1].dataset (CustomDataset) '
        "cannot be built: TypeError: 'int' object is not iterable.")
    # A wrapper's own argument is the wrapper's fault.
    cfg.train_dataloader.dataset = _concat(tmp_path)
    cfg.train_dataloader.dataset.datasets[1].bogus = 1
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['train_dataloader'])
    assert str(error.value) == (
        'c.py: train_dataloader.dataset.datasets[1].bogus: unknown argument '
        "'bogus' of RepeatDataset. It takes: dataset, times, lazy_init.")
    # Only the loaders asked for are built.
    check_datasets(cfg, 'c.py', ['test_dataloader'])


def test_an_option_that_set_the_argument_is_named(tmp_path):
    cfg = _config(
        test_dataloader=dict(dataset=_custom(tmp_path, extensions=5)))
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['test_dataloader'], {
            'test_dataloader.dataset.extensions': 5,
            'model.x': 2
        })
    assert str(error.value).startswith(
        'c.py: test_dataloader.dataset (CustomDataset) with --cfg-options '
        'test_dataloader.dataset.extensions=5 cannot be built: ')


def test_a_type_no_registry_holds_names_the_closest(tmp_path):
    cfg = _config(
        val_dataloader=dict(
            dataset=dict(
                type='RepeatDataset',
                times=2,
                dataset=_custom(tmp_path, type='CustomDatset'))))
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['val_dataloader'])
    assert str(error.value).startswith(
        "c.py: val_dataloader.dataset.dataset.type='CustomDatset' is not in "
        "the mmpretrain::dataset registry; did you mean 'CustomDataset'")


class _EagerDataset:
    """A dataset that reads its data in ``__init__`` and has no
    ``lazy_init``: building it up front would read the data."""

    built = 0

    def __init__(self, size):
        type(self).built += 1


def test_a_dataset_without_lazy_init_is_left_to_the_runner(tmp_path):
    assert lazily_built(_EagerDataset) is False
    init_default_scope('mmpretrain')
    # mmpretrain's, found in the default scope as the Runner finds it.
    assert lazily_built('CustomDataset') is True
    assert lazily_built('mmpretrain.CustomDataset') is True
    assert lazily_built('NoSuchDataset') is None
    cfg = _config(
        train_dataloader=dict(
            dataset=dict(
                type='RepeatDataset',
                times=2,
                dataset=dict(type=_EagerDataset, size=3))))
    check_datasets(cfg, 'c.py', ['train_dataloader'])
    assert _EagerDataset.built == 0
    # Its arguments are still read from its signature, without building.
    cfg.train_dataloader.dataset.dataset.bogus = 1
    with pytest.raises(
            ConfigError,
            match=r"dataset\.bogus: unknown argument 'bogus' of "
            r'_EagerDataset\. It takes: size\.$'):
        check_datasets(cfg, 'c.py', ['train_dataloader'])
    assert _EagerDataset.built == 0


def test_a_missing_file_keeps_its_own_message(tmp_path):
    cfg = _config(
        train_dataloader=dict(
            dataset=_custom(tmp_path, classes=str(tmp_path / 'none.txt'))))
    with pytest.raises(FileNotFoundError, match='none.txt'):
        check_datasets(cfg, 'c.py', ['train_dataloader'])


def test_a_missing_annotation_file_is_named_with_its_key(tmp_path):
    """MMEngine reads the annotation list only in a full build; the check
    names a local one that does not exist, joined to ``data_root``."""
    (tmp_path / 'train.txt').write_text('a.png 0\n')
    listed = dict(
        type='CustomDataset',
        data_root=str(tmp_path),
        ann_file='train.txt',
        pipeline=[])
    cfg = _config(
        train_dataloader=dict(dataset=listed),
        val_dataloader=dict(
            dataset=dict(
                type='RepeatDataset',
                times=2,
                dataset=dict(listed, ann_file='vall.txt'))))
    check_datasets(cfg, 'c.py', ['train_dataloader'])
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['train_dataloader', 'val_dataloader'])
    assert str(error.value) == (
        'c.py: val_dataloader.dataset.dataset.ann_file (CustomDataset): the '
        f'annotation file {tmp_path}/vall.txt does not exist.')
    missing = str(tmp_path / 'none.txt')
    cfg.val_dataloader.dataset.dataset.ann_file = missing
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['val_dataloader'],
                       {'val_dataloader.dataset.dataset.ann_file': missing})
    assert str(error.value) == (
        '--cfg-options val_dataloader.dataset.dataset.ann_file='
        f"'{missing}' (CustomDataset): the annotation file {missing} does "
        'not exist.')


@pytest.mark.parametrize('ann_file', ['', 's3://bucket/train.txt'])
def test_an_annotation_file_no_local_check_can_see_is_left(tmp_path, ann_file):
    """No annotation file (a folder is listed) or one behind a URI."""
    init_default_scope('mmpretrain')
    built = DATASETS.build(
        _custom(tmp_path, ann_file=ann_file, lazy_init=True))
    assert missing_data(built) is None
    cfg = _config(
        train_dataloader=dict(dataset=_custom(tmp_path, ann_file=ann_file)))
    check_datasets(cfg, 'c.py', ['train_dataloader'])


def test_a_missing_image_folder_is_named_with_its_key(tmp_path):
    """mmpretrain's CustomDataset without an annotation file lists the
    class folders of ``data_prefix`` under ``data_root``; a folder that is
    not there was ``FileNotFoundError: [Errno 2] No such file or
    directory`` from inside the Runner."""
    cfg = _config(
        train_dataloader=dict(
            dataset=dict(_custom(tmp_path), data_prefix='train')))
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['train_dataloader'])
    assert str(error.value) == (
        'c.py: train_dataloader.dataset.data_prefix (CustomDataset): the '
        f'image folder {tmp_path}/empty/train does not exist (without an '
        'ann_file, CustomDataset lists the class folders in it).')
    (tmp_path / 'empty' / 'train').mkdir()
    check_datasets(cfg, 'c.py', ['train_dataloader'])


def test_a_message_ending_a_sentence_gets_one_period(tmp_path):
    """The label map's own message ends with a period; the error that
    wraps it read ``... on line i + 1..``."""
    label_map = tmp_path / 'label_map.txt'
    label_map.write_text('a\nb\nc\nd\n')
    cfg = Config(
        dict(
            default_scope='mmaction',
            test_dataloader=dict(
                dataset=dict(
                    type='CheckedVideoDataset',
                    ann_file=str(tmp_path / 'none.txt'),
                    num_classes=3,
                    classes=str(label_map),
                    pipeline=[]))))
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['test_dataloader'])
    message = str(error.value)
    assert message.startswith(
        'c.py: test_dataloader.dataset (CheckedVideoDataset) cannot be '
        f'built: LabelMapError: {label_map}: 4 class names, but '
        'num_classes=3'), message
    assert message.endswith('.') and not message.endswith('..'), message
