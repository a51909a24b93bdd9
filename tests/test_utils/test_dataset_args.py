# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A dataset argument its class does not take is refused before the
Runner, with the arguments it takes read from the constructors along the
MRO, and the closest named; wrapped datasets are checked, wrappers'
own arguments too."""
import glob
import os.path as osp

import pytest
from helpers import CONFIGS
from mmaction.datasets import VideoDataset
from mmengine.config import Config
from mmpretrain.datasets import CustomDataset

from mmadaptformer.datasets import CheckedImageDataset, CheckedVideoDataset
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.config_loading import load_config_file
from mmadaptformer.utils.dataset_args import (check_dataset_arguments,
                                              dataset_arguments, dataset_class,
                                              unexpected_argument_hint)
from mmadaptformer.utils.dataset_check import check_datasets, dataset_nodes
from mmadaptformer.utils.registry_names import use_default_scope


def _video(tmp_path, **kwargs):
    return dict(
        dict(
            type='CheckedVideoDataset',
            ann_file=str(tmp_path / 'train.txt'),
            pipeline=[]), **kwargs)


def _image(tmp_path, **kwargs):
    (tmp_path / 'images').mkdir(exist_ok=True)
    return dict(
        dict(
            type='CheckedImageDataset',
            data_root=str(tmp_path / 'images'),
            pipeline=[]), **kwargs)


def test_arguments_are_read_along_the_mro():
    """Each constructor passes ``**kwargs`` on, down to MMEngine's
    ``BaseDataset`` (or mmpretrain's), which takes none."""
    video = dataset_arguments(CheckedVideoDataset)
    # Ours, mmaction2's VideoDataset and BaseActionDataset, MMEngine's.
    for name in ('short_videos', 'delimiter', 'modality', 'data_root',
                 'lazy_init', 'filter_cfg'):
        assert name in video
    assert video[:2] == ['ann_file', 'pipeline']
    assert 'kwargs' not in video and 'self' not in video
    assert 'with_label' not in video
    image = dataset_arguments(CheckedImageDataset)
    assert image[:3] == ['data_root', 'classes', 'num_classes']
    # CustomDataset's, then mmpretrain's BaseDataset, which ends the chain.
    assert 'with_label' in image and 'serialize_data' in image
    assert 'short_videos' not in image
    assert set(dataset_arguments(VideoDataset)) < set(video)
    assert set(dataset_arguments(CustomDataset)) < set(image)


class _OwnKwargs(CustomDataset):
    """Another package's dataset that may use ``**kwargs`` itself."""

    def __init__(self, extra=None, **kwargs):
        self.extra = kwargs.pop('option', None)
        super().__init__(**kwargs)


class _Closed:

    def __init__(self, size, *, scale=1):
        pass


class _Open:

    def __init__(self, size, **kwargs):
        self.kwargs = kwargs


def test_what_cannot_be_told_is_none():
    assert dataset_arguments(_Closed) == ['size', 'scale']
    # **kwargs that reach object: used by the class itself.
    assert dataset_arguments(_Open) is None
    assert dataset_arguments(_Open, trusted=False) is None
    # Another package's **kwargs may be used: not read as passed on.
    assert dataset_arguments(_OwnKwargs) is None
    assert dataset_arguments(
        _OwnKwargs, trusted=False)[:2] == ['extra', 'data_root']


@pytest.mark.parametrize('make, kind, close', [
    (_video, 'CheckedVideoDataset', "'ann_file'"),
    (_image, 'CheckedImageDataset', "'ann_file'"),
])
def test_a_misspelled_argument_is_named_with_the_closest(
        tmp_path, make, kind, close):
    """``ann_flie`` reached MMEngine's ``BaseDataset`` through the
    ``**kwargs`` of each class: ``TypeError: BaseDataset.__init__() got an
    unexpected keyword argument 'ann_flie'``."""
    scope = 'mmaction' if kind == 'CheckedVideoDataset' else 'mmpretrain'
    cfg = Config(
        dict(
            default_scope=scope,
            val_dataloader=dict(dataset=make(tmp_path, ann_flie='a.txt'))))
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['val_dataloader'])
    message = str(error.value)
    assert message.startswith(
        f"c.py: val_dataloader.dataset.ann_flie: unknown argument 'ann_flie' "
        f'of {kind} (did you mean {close}?). It takes: '), message
    # Given as an option, the option is named.
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['val_dataloader'],
                       {'val_dataloader.dataset.ann_flie': 'a.txt'})
    assert str(error.value).startswith(
        "--cfg-options val_dataloader.dataset.ann_flie='a.txt': unknown "
        f"argument 'ann_flie' of {kind} (did you mean {close}?)")


def test_wrapped_datasets_are_walked_and_wrappers_are_checked(tmp_path):
    """ConcatDataset, RepeatDataset and ClassBalancedDataset take their
    own arguments; the datasets they wrap are checked as any other."""
    (tmp_path / 'images' / 'a').mkdir(parents=True)
    good = dict(
        type='ConcatDataset',
        datasets=[
            _image(tmp_path),
            dict(type='RepeatDataset', times=2, dataset=_image(tmp_path)),
            dict(
                type='ClassBalancedDataset',
                oversample_thr=0.5,
                dataset=_image(tmp_path)),
        ])
    cfg = Config(
        dict(default_scope='mmpretrain', train_dataloader=dict(dataset=good)))
    check_datasets(cfg, 'c.py', ['train_dataloader'])
    cfg.train_dataloader.dataset.datasets[2].dataset.num_clases = 3
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['train_dataloader'])
    assert str(error.value).startswith(
        'c.py: train_dataloader.dataset.datasets[2].dataset.num_clases: '
        "unknown argument 'num_clases' of CheckedImageDataset (did you mean "
        "'num_classes' or 'classes'?)")
    cfg.train_dataloader.dataset = good
    cfg.train_dataloader.dataset.datasets[1].time = 3
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['train_dataloader'])
    assert str(error.value) == (
        'c.py: train_dataloader.dataset.datasets[1].time: unknown argument '
        "'time' of RepeatDataset (did you mean 'times'?). It takes: "
        'dataset, times, lazy_init.')


def test_another_packages_kwargs_are_left_to_the_class(tmp_path):
    """A class whose ``**kwargs`` may be its own is not refused up front;
    what it passes on and its base refuses is still named, with the
    closest argument along its MRO."""
    (tmp_path / 'images' / 'a').mkdir(parents=True)
    cfg = Config(
        dict(
            default_scope='mmpretrain',
            train_dataloader=dict(
                dataset=dict(
                    type=_OwnKwargs,
                    data_root=str(tmp_path / 'images'),
                    option=1,
                    pipeline=[]))))
    check_datasets(cfg, 'c.py', ['train_dataloader'])
    cfg.train_dataloader.dataset.with_labl = False
    with pytest.raises(ConfigError) as error:
        check_datasets(cfg, 'c.py', ['train_dataloader'])
    assert str(error.value) == (
        'c.py: train_dataloader.dataset (_OwnKwargs) cannot be built: '
        'TypeError: BaseDataset.__init__() got an unexpected keyword '
        "argument 'with_labl' (did you mean 'with_label'?).")
    assert unexpected_argument_hint(ValueError('x'), _OwnKwargs) == ''


@pytest.mark.parametrize(
    'config',
    sorted(
        osp.relpath(path, CONFIGS)
        for path in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
        if '_base_' not in path))
def test_every_dataset_of_the_configs_is_checked_and_passes(config):
    """No false positive, and no dataset left unchecked, in configs/."""
    cfg = load_config_file(osp.join(CONFIGS, config))
    use_default_scope(cfg)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if not cfg.get(loader):
            continue
        for key, node in dataset_nodes(cfg[loader].dataset,
                                       f'{loader}.dataset'):
            assert dataset_arguments(dataset_class(node)) is not None, key
            check_dataset_arguments(node, key, config, None)
