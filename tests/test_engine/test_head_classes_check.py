# Copyright (c) mmadaptformer contributors. All rights reserved.
""":func:`check_head_classes` on the tiny image config, in-process: what
it reads from a hidden class folder and from a config without
ConfigCheckHook (the end-to-end refusals are in
``tests/test_tools/test_head_classes_lines.py``)."""
import os
import os.path as osp
import shutil

import pytest
from config_writers import image_data_cfg, write_config
from mmengine.config import Config
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.engine.head_classes_check import (check_head_classes,
                                                     config_check_heads)
from mmadaptformer.utils import ConfigError


def _cfg(tmp_path, root, body=''):
    return Config.fromfile(
        write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
                     image_data_cfg(root) + body))


def test_a_hidden_class_folder_is_named(tmp_path, tiny_image_data):
    """A hidden folder (``.ipynb_checkpoints``) is a class folder to
    mmpretrain's CustomDataset: 3 classes for a head of 2. Before, the
    hook said so only at before_train, after the work dir was made."""
    root = str(tmp_path / 'data')
    shutil.copytree(tiny_image_data, root)
    os.makedirs(osp.join(root, 'train', '.ipynb_checkpoints'))
    shutil.copy(
        osp.join(root, 'train', 'horizontal',
                 sorted(os.listdir(osp.join(root, 'train', 'horizontal')))[0]),
        osp.join(root, 'train', '.ipynb_checkpoints'))
    cfg = _cfg(tmp_path, root)
    with pytest.raises(ConfigError) as error:
        check_head_classes(cfg, 'cfg.py', ['train_dataloader'])
    assert str(error.value) == (
        'cfg.py: model.head.num_classes=2 but train_dataloader.dataset has 3 '
        f'classes (class folders of CustomDataset in {root}/train) '
        "('.ipynb_checkpoints', 'horizontal', 'vertical'). Remove the hidden "
        "class folders ['.ipynb_checkpoints'], which mmpretrain's "
        'CustomDataset counts as classes, or set model.head.num_classes to '
        'the number of classes of the data (and every other num_classes of '
        'the config with it).')


def test_a_config_without_config_check_hook_is_not_checked(
        tmp_path, tiny_image_data):
    """Guard of kept behaviour: the refusal is ConfigCheckHook's, so a
    config that drops the hook is not refused (nor did the hook refuse
    it)."""
    cfg = _cfg(
        tmp_path, tiny_image_data, 'default_hooks = dict(config_check=None)\n'
        'model = dict(head=dict(num_classes=3))\n')
    assert config_check_heads(cfg) is None
    check_head_classes(cfg, 'cfg.py', ['train_dataloader'])


def test_the_hook_head_argument_is_read(tmp_path, tiny_image_data):
    """The hook's ``head`` names the head's attribute; a head it does not
    name is not compared."""
    cfg = _cfg(
        tmp_path, tiny_image_data,
        "default_hooks = dict(config_check=dict(head=['cls_head']))\n"
        'model = dict(head=dict(num_classes=3))\n')
    assert config_check_heads(cfg) == ['cls_head']
    check_head_classes(cfg, 'cfg.py', ['train_dataloader'])
