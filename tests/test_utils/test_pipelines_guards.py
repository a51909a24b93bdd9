# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What the pipeline check builds, finds and leaves: an entry that is no
transform config is named, a pipeline written as a tuple is found, and a
user's transform that keeps arguments of its own is not judged as
mmaction2's loading transforms are."""
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.pipelines import (build_transforms,
                                           dataloader_pipelines,
                                           file_client_misfits)


class KeepsOptions:
    """A user's transform that keeps its other arguments for a client of
    its own, as mmaction2's loading transforms do."""

    def __init__(self, io_backend: str = 'disk', **kwargs) -> None:
        self.io_backend = io_backend
        self.kwargs = kwargs
        self.file_client = None

    def __call__(self, results: dict) -> dict:
        return results


def test_an_entry_that_is_no_dict_nor_callable_is_named():
    """A guard of kept behaviour: a transform's name without ``dict(type=
    ...)`` is no transform; only a callable is taken as built."""
    init_default_scope('mmpretrain')
    cfg = Config(dict(default_scope='mmpretrain'))
    with pytest.raises(ConfigError) as error:
        build_transforms(['LoadImageFromFile'],
                         'test_dataloader.dataset.pipeline', cfg, 'c.py')
    assert str(error.value) == (
        'c.py: test_dataloader.dataset.pipeline[0] cannot be built: '
        'TypeError: cfg should be a dict, ConfigDict or Config, but got '
        "<class 'str'>.")


def test_a_pipeline_written_as_a_tuple_is_found():
    """A guard of kept behaviour: MMEngine's ``Config`` keeps a tuple, and
    ``Compose`` builds it."""
    load = dict(type='LoadImageFromFile')
    cfg = Config(
        dict(
            default_scope='mmpretrain',
            train_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset', datasets=(dict(
                        pipeline=(load, )), )))))
    assert list(dataloader_pipelines(cfg, 'train_dataloader')) == [
        ('train_dataloader.dataset.datasets[0].pipeline', [load])
    ]


def test_a_users_transform_with_a_file_client_is_not_judged():
    """A guard of kept behaviour: its kept arguments may be its client's."""
    init_default_scope('mmpretrain')
    assert file_client_misfits(KeepsOptions(num_thread=2)) == ([], [])
    built = build_transforms([dict(type=KeepsOptions, num_thread=2)], 'k',
                             Config(dict(default_scope='mmpretrain')), 'c.py')
    assert built[0].kwargs == dict(num_thread=2)
