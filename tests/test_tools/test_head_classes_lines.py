# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py`` and ``tools/test.py`` refuse a head whose
``num_classes`` differs from the data's before the Runner is built.

ConfigCheckHook refused it only at ``before_train`` (``before_test``):
after the Runner had made the work dir and its log, built the model and
read the datasets. The check now reads the head's, the data
preprocessor's and the datasets' classes from the config and from the
datasets built with ``lazy_init=True`` (mmpretrain's CustomDataset: its
class folders), so the run ends on one line and leaves no work dir."""
import os.path as osp

import pytest
from config_writers import image_data_cfg, video_data_cfg, write_config
from refusal_lines import refused_line
from refused_runs import unread_checkpoint
from repo_paths import (TINY_ADAPTFORMER_IMAGE_CONFIG,
                        TINY_ADAPTFORMER_VIDEO_CONFIG)
from tool_runners import run_tool

SET_HEAD = ('Set {head} to the number of classes of the data (and every '
            'other num_classes of the config with it).')


def _refused(tmp_path, args):
    work_dir = tmp_path / 'work'
    proc = run_tool(args + ['--work-dir', work_dir], cwd=tmp_path, check=False)
    return refused_line(proc, no_dir=work_dir)


def _folders(root: str, split: str, loader: str) -> str:
    return (f'{loader}.dataset has 2 classes (class folders of CustomDataset '
            f"in {osp.join(root, split)}) ('horizontal', 'vertical')")


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_a_video_head_of_other_classes_is_one_line_before_the_work_dir(
        tmp_path, tiny_video_data, tool):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    # test.py refuses before it reads the checkpoint: an empty file.
    checkpoint = unread_checkpoint(tmp_path)
    args = [tool, config] + ([checkpoint] if tool == 'test.py' else [])
    loaders = ['train_dataloader', 'val_dataloader'] \
        if tool == 'train.py' else ['test_dataloader']
    found = ' and '.join(f'{loader}.dataset.num_classes=2'
                         for loader in loaders)
    assert _refused(
        tmp_path,
        args + ['--cfg-options', 'model.cls_head.num_classes=3']) == (
            'ConfigError: --cfg-options model.cls_head.num_classes=3: '
            f'model.cls_head.num_classes=3 but {found}. ' +
            SET_HEAD.format(head='model.cls_head.num_classes'))


def test_an_image_head_of_other_classes_is_one_line_before_the_work_dir(
        tmp_path, tiny_image_data):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    assert _refused(tmp_path, [
        'train.py', config, '--cfg-options', 'model.head.num_classes=3'
    ]) == ('ConfigError: --cfg-options model.head.num_classes=3: '
           'model.head.num_classes=3 but model.data_preprocessor.num_classes'
           '=2 and ' + _folders(tiny_image_data, 'train', 'train_dataloader') +
           ' and ' + _folders(tiny_image_data, 'val', 'val_dataloader') +
           '. ' + SET_HEAD.format(head='model.head.num_classes'))


def test_a_config_file_head_of_other_classes_names_the_file(
        tmp_path, tiny_image_data):
    config = write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        'model = dict(head=dict(num_classes=3), '
        'data_preprocessor=dict(num_classes=3))\n')
    assert _refused(
        tmp_path,
        ['train.py', config, '--no-validate'
         ]) == (f'ConfigError: {config}: model.head.num_classes=3 but ' +
                _folders(tiny_image_data, 'train', 'train_dataloader') + '. ' +
                SET_HEAD.format(head='model.head.num_classes'))


def test_a_preprocessor_of_other_classes_names_its_option(
        tmp_path, tiny_image_data):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    assert _refused(tmp_path, [
        'train.py', config, '--cfg-options',
        'model.data_preprocessor.num_classes=5'
    ]) == ('ConfigError: --cfg-options model.data_preprocessor.num_classes=5'
           ': model.head.num_classes=2 but model.data_preprocessor.'
           'num_classes=5. Set model.data_preprocessor.num_classes to 2 too '
           "(a stock config's values are those of its own dataset), or all "
           'of them to the number of classes of the data.')
