# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--cfg-options data_root=X`` changed only the top-level variable, which
the config file had already copied into the datasets: training read the
old data. Such an option is refused, naming the keys to set instead; a key
the Runner reads, or one no other key copies, merges as before."""
import glob
import inspect
import os.path as osp
import re

import pytest
from helpers import CONFIGS, TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG
from mmengine.config import Config
from mmengine.runner import Runner

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.cfg_options_merge import merge_cfg_options
from mmadaptformer.utils.cfgopt_variables import READ_KEYS
from mmadaptformer.utils.config_loading import load_config_file

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def test_data_root_is_refused_with_the_keys_to_set():
    cfg = load_config_file(TINY_IMAGE_CONFIG)
    # What MMEngine's merge did: the datasets kept the old folder.
    plain = Config(cfg.to_dict())
    plain.merge_from_dict({'data_root': '/data/ssv2'})
    assert plain.train_dataloader.dataset.data_root == 'data/tiny_image'
    with pytest.raises(ConfigError) as error:
        merge_cfg_options(cfg, {'data_root': '/data/ssv2'})
    assert str(error.value) == (
        '--cfg-options data_root=/data/ssv2 changes nothing: the config file '
        "copied its variable data_root ('data/tiny_image') into "
        'train_dataloader.dataset.data_root, val_dataloader.dataset.'
        'data_root, test_dataloader.dataset.data_root when it was read, and '
        'nothing reads data_root itself. Set those keys instead: '
        '--cfg-options train_dataloader.dataset.data_root=/data/ssv2 '
        'val_dataloader.dataset.data_root=/data/ssv2 '
        'test_dataloader.dataset.data_root=/data/ssv2')


def test_paths_built_from_the_variable_are_named_with_new_values():
    """The tiny video config builds ``f'{data_root}/train.txt'``."""
    cfg = load_config_file(TINY_VIDEO_CONFIG)
    with pytest.raises(ConfigError) as error:
        merge_cfg_options(cfg, {'data_root': '/data/my videos/'})
    message = str(error.value)
    assert message.endswith(
        'Set those keys instead: --cfg-options train_dataloader.dataset.'
        "ann_file='/data/my videos/train.txt' "
        "train_dataloader.dataset.data_prefix.video='/data/my videos/videos' "
        "val_dataloader.dataset.ann_file='/data/my videos/val.txt' "
        "val_dataloader.dataset.data_prefix.video='/data/my videos/videos' "
        "test_dataloader.dataset.ann_file='/data/my videos/val.txt' "
        "test_dataloader.dataset.data_prefix.video='/data/my videos/videos'"
    ), message


def test_copies_the_options_also_set_are_not_named():
    cfg = load_config_file(TINY_IMAGE_CONFIG)
    options = {'data_root': '/d', 'train_dataloader.dataset.data_root': '/d'}
    with pytest.raises(ConfigError) as error:
        merge_cfg_options(cfg, options)
    assert 'train_dataloader.dataset.data_root=' not in str(error.value)
    assert 'val_dataloader.dataset.data_root=/d ' in str(error.value)
    cfg = load_config_file(TINY_IMAGE_CONFIG)
    options.update({f'{loader}.dataset.data_root': '/d' for loader in LOADERS})
    merge_cfg_options(cfg, options)
    assert cfg.test_dataloader.dataset.data_root == '/d'


def test_a_number_is_a_copy_only_under_its_own_name():
    """``num_classes = 2`` is copied into the heads; ``max_epochs=2`` is a
    coincidence, not a copy."""
    cfg = load_config_file(TINY_IMAGE_CONFIG)
    assert cfg.train_cfg.max_epochs == cfg.num_classes == 2
    with pytest.raises(ConfigError) as error:
        merge_cfg_options(cfg, {'num_classes': 5})
    message = str(error.value)
    assert 'model.head.num_classes=5' in message, message
    assert 'max_epochs' not in message


def test_lists_and_dicts_given_back_as_options_read_them():
    cfg = load_config_file(TINY_IMAGE_CONFIG)
    pipeline = [dict(type='PackInputs')]
    with pytest.raises(ConfigError) as error:
        merge_cfg_options(cfg, {'train_pipeline': pipeline})
    assert str(error.value).endswith(
        '--cfg-options train_dataloader.dataset.pipeline='
        '"[{\'type\': \'PackInputs\'}]"')


def test_keys_read_or_not_copied_merge_as_before():
    cfg = load_config_file(TINY_VIDEO_CONFIG)
    merge_cfg_options(
        cfg, {
            'work_dir': 'data/tiny_video',
            'load_from': 'data/tiny_video/a.pth',
            'default_scope': 'mmaction',
            'my_flag': 'data/tiny_video',
            'launcher': 'none',
            'dataset_type': 'CheckedVideoDataset',
        })
    assert cfg.my_flag == cfg.work_dir == 'data/tiny_video'


def test_read_keys_hold_what_the_runner_reads():
    """Every argument of MMEngine's Runner, and every key it reads from its
    config itself, is read: never refused."""
    arguments = set(inspect.signature(Runner.__init__).parameters)
    source = inspect.getsource(Runner)
    own = set(re.findall(r"self\.cfg\.get\(\s*'(\w+)'", source))
    assert own and arguments - {'self', 'cfg'} | own <= set(READ_KEYS)


@pytest.mark.parametrize(
    'config',
    sorted(
        osp.relpath(path, CONFIGS)
        for path in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
        if '_base_' not in path))
def test_no_read_key_of_a_config_in_configs_is_refused(config):
    """Zero false positives: a new value for each key the Runner reads
    (``work_dir``, ``load_from``, ``resume``, ``default_scope``,
    ``randomness``, ``env_cfg``...) that the config has merges."""
    base = load_config_file(osp.join(CONFIGS, config))
    options = {
        key: 'NEW'
        for key in base
        if key in READ_KEYS and not isinstance(base[key], (dict, list))
    }
    options.update({
        f'{key}.new_key': 1
        for key in base if key in READ_KEYS and isinstance(base[key], dict)
    })
    assert 'default_scope' in options
    merge_cfg_options(base, options)


def test_a_part_of_a_copied_variable_points_at_the_same_part_of_each_copy():
    """``test_pipeline.1.num_clips=1`` changed the top-level list only; the
    test set kept testing 2 clips."""
    cfg = load_config_file(TINY_VIDEO_CONFIG)
    plain = Config(cfg.to_dict())
    plain.merge_from_dict({'test_pipeline.1.num_clips': 1})
    assert plain.test_dataloader.dataset.pipeline[1].num_clips == 2
    with pytest.raises(ConfigError) as error:
        merge_cfg_options(cfg, {'test_pipeline.1.num_clips': 1})
    message = str(error.value)
    assert message.startswith(
        '--cfg-options test_pipeline.1.num_clips=1 changes nothing: the '
        'config file copied its variable test_pipeline ('), message
    assert message.endswith(
        'into test_dataloader.dataset.pipeline when it was read, and nothing '
        'reads test_pipeline itself. Set those keys instead: --cfg-options '
        'test_dataloader.dataset.pipeline.1.num_clips=1'), message
    # What it says to give works.
    cfg = load_config_file(TINY_VIDEO_CONFIG)
    merge_cfg_options(cfg, {'test_dataloader.dataset.pipeline.1.num_clips': 1})
    assert cfg.test_dataloader.dataset.pipeline[1].num_clips == 1
    # A part given the value it has changes nothing and merges.
    merge_cfg_options(
        load_config_file(TINY_VIDEO_CONFIG), {'test_pipeline.1.num_clips': 2})


def test_copies_set_by_other_options_are_the_users_whatever_their_value():
    """Setting the variable and each of its copies was refused where a new
    path lay under the old one (``data/tiny_video/v2`` still starts with
    ``data/tiny_video/``) or where a copy kept the old value on purpose."""
    cfg = load_config_file(TINY_VIDEO_CONFIG)
    root = cfg.data_root
    new = f'{root}/v2'
    options = {'data_root': new}
    for loader in LOADERS:
        options[f'{loader}.dataset.ann_file'] = f'{new}/train.txt'
        options[f'{loader}.dataset.data_prefix.video'] = f'{new}/videos'
    merge_cfg_options(cfg, options)
    assert cfg.val_dataloader.dataset.data_prefix.video == f'{new}/videos'
    # The test set stays on the old data, as the options say.
    cfg = load_config_file(TINY_IMAGE_CONFIG)
    old = cfg.data_root
    options = {f'{loader}.dataset.data_root': '/d' for loader in LOADERS[:2]}
    options.update({
        'data_root': '/d',
        'test_dataloader.dataset.data_root': old
    })
    merge_cfg_options(cfg, options)
    assert cfg.test_dataloader.dataset.data_root == old
    assert cfg.train_dataloader.dataset.data_root == '/d'


def test_test_pipeline_of_a_config_without_a_test_set_is_read():
    """Inference reads the top-level ``test_pipeline`` of a config without
    ``test_dataloader``; it was refused as copied into the val set."""
    from mmadaptformer.apis.test_pipeline import test_pipeline_cfg
    cfg = load_config_file(TINY_VIDEO_CONFIG)
    for key in ('test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg.pop(key)
    cfg.val_dataloader.dataset.pipeline = cfg.test_pipeline
    merge_cfg_options(cfg, {'test_pipeline.1.num_clips': 1})
    assert test_pipeline_cfg(cfg)[1]['num_clips'] == 1


def test_vis_backends_copied_into_the_visualizer_is_refused():
    """``vis_backends`` inherited from ``mmpretrain::`` holds
    ``_scope_`` that its copy in ``visualizer.vis_backends`` has not, so
    the copy went unseen: ``--cfg-options vis_backends.0.type=...``
    merged, and the Runner's visualizer kept ``LocalVisBackend``."""
    cfg = load_config_file(TINY_IMAGE_CONFIG)
    assert cfg.vis_backends[0].get('_scope_') == 'mmpretrain'
    assert '_scope_' not in cfg.visualizer.vis_backends[0]
    with pytest.raises(ConfigError) as error:
        merge_cfg_options(cfg,
                          {'vis_backends.0.type': 'TensorboardVisBackend'})
    assert str(error.value) == (
        '--cfg-options vis_backends.0.type=TensorboardVisBackend changes '
        'nothing: the config file copied its variable vis_backends '
        "([{'type': 'LocalVisBackend'}]) into visualizer.vis_backends when "
        'it was read, and nothing reads vis_backends itself. Set those keys '
        'instead: --cfg-options '
        'visualizer.vis_backends.0.type=TensorboardVisBackend')
    backends = [dict(type='LocalVisBackend'), dict(type='WandbVisBackend')]
    with pytest.raises(ConfigError) as error:
        merge_cfg_options(
            load_config_file(TINY_IMAGE_CONFIG), {'vis_backends': backends})
    assert str(error.value).endswith(
        '--cfg-options visualizer.vis_backends='
        '"[{\'type\': \'LocalVisBackend\'}, {\'type\': \'WandbVisBackend\'}]"')
    # What it says to give works.
    cfg = load_config_file(TINY_IMAGE_CONFIG)
    merge_cfg_options(
        cfg, {'visualizer.vis_backends.0.type': 'TensorboardVisBackend'})
    assert cfg.visualizer.vis_backends[0].type == 'TensorboardVisBackend'
