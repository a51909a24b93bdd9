# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every pipeline of a dataloader is found and built up front, wrapped and
concatenated datasets included; what cannot be built is named."""
import pytest
from mmengine.config import Config

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.pipelines import check_pipelines, dataloader_pipelines


def _config(**loaders):
    return Config(dict(default_scope='mmpretrain', **loaders))


def test_the_pipelines_of_wrapped_and_concatenated_datasets_are_found():
    load = dict(type='LoadImageFromFile')
    cfg = _config(
        train_dataloader=dict(
            dataset=dict(
                type='ConcatDataset',
                datasets=[
                    dict(type='CustomDataset', pipeline=[load]),
                    dict(
                        type='RepeatDataset',
                        times=2,
                        dataset=dict(type='CustomDataset', pipeline=[load])),
                ])),
        val_dataloader=None)
    assert [key
            for key, _ in dataloader_pipelines(cfg, 'train_dataloader')] == [
                'train_dataloader.dataset.datasets[0].pipeline',
                'train_dataloader.dataset.datasets[1].dataset.pipeline'
            ]
    assert list(dataloader_pipelines(cfg, 'val_dataloader')) == []
    assert list(dataloader_pipelines(cfg, 'test_dataloader')) == []
    check_pipelines(cfg, 'c.py', ['train_dataloader', 'val_dataloader'])
    cfg.train_dataloader.dataset.datasets[1].dataset.pipeline.append(
        dict(type='RandomFlip', prob=0.5, bogus=1))
    with pytest.raises(
            ConfigError,
            match=r'^c\.py: train_dataloader\.dataset\.datasets\[1\]\.dataset'
            r'\.pipeline\[1\] \(RandomFlip\) cannot be built: TypeError: '):
        check_pipelines(cfg, 'c.py', ['train_dataloader'])
    # Only the loaders asked for are built.
    check_pipelines(cfg, 'c.py', ['val_dataloader'])


def test_a_type_no_registry_holds_names_the_closest():
    cfg = _config(
        test_dataloader=dict(
            dataset=dict(pipeline=[dict(type='LoadImageFromFlie')])))
    with pytest.raises(ConfigError) as error:
        check_pipelines(cfg, 'c.py', ['test_dataloader'])
    assert str(error.value).startswith(
        "c.py: test_dataloader.dataset.pipeline[0].type='LoadImageFromFlie' "
        'is not in the mmpretrain::transform registry; did you mean '
        "'LoadImageFromFile'")
