# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``pipelines.scoped_pipelines``: the pipelines that ``check_pipelines``
builds and ``check_clip_frames`` reads, walked in one place (the two had
the same loop). Guards kept behaviour."""
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

from mmadaptformer.utils.pipelines import scoped_pipelines


def test_the_named_loaders_pipelines_in_order_with_the_configs_scope():
    load = dict(type='LoadImageFromFile')
    cfg = Config(
        dict(
            default_scope='mmpretrain',
            train_dataloader=dict(dataset=dict(pipeline=[load])),
            val_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[dict(pipeline=[load]),
                              dict(pipeline=())])),
            test_dataloader=dict(dataset=dict(pipeline=[load]))))
    init_default_scope('mmaction')
    found = scoped_pipelines(cfg, ['val_dataloader', 'train_dataloader'])
    assert next(found) == ('val_dataloader.dataset.datasets[0].pipeline',
                           [load])
    # The config's scope is the current one once the walk has begun.
    assert DefaultScope.get_current_instance().scope_name == 'mmpretrain'
    assert [key for key, _ in found] == [
        'val_dataloader.dataset.datasets[1].pipeline',
        'train_dataloader.dataset.pipeline'
    ]
    # A loader the config leaves unset gives none; none asked, none given.
    assert list(scoped_pipelines(cfg, ['no_dataloader'])) == []
    assert list(scoped_pipelines(cfg, [])) == []


def test_a_config_without_a_default_scope_keeps_the_current_one():
    init_default_scope('mmaction')
    cfg = Config(dict(train_dataloader=dict(dataset=dict(pipeline=[]))))
    assert list(scoped_pipelines(cfg, ['train_dataloader'])) == [
        ('train_dataloader.dataset.pipeline', [])
    ]
    assert DefaultScope.get_current_instance().scope_name == 'mmaction'
