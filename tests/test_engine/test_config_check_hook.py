# Copyright (c) mmadaptformer contributors. All rights reserved.
"""ConfigCheckHook: a head whose num_classes differs from the dataset's
stops the run before its first step, naming both config keys, and so do
validation or test classes at other labels than in training."""
import logging
import os
import shutil

import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     image_data_cfg, video_data_cfg, write_config)
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmadaptformer.utils import ConfigError


class _IterCounter(Hook):

    def __init__(self):
        self.iters = 0

    def after_train_iter(self, runner, *args, **kwargs):
        self.iters += 1


def _runner(cfg_path, work_dir, **options):
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict(options)
    cfg.work_dir = str(work_dir)
    runner = Runner.from_cfg(cfg)
    counter = _IterCounter()
    runner.register_hook(counter)
    return runner, counter


def test_video_head_vs_dataset_num_classes(tmp_path, tiny_video_data,
                                           clean_loggers):
    # The tiny AdaptFormer config has the hook; its head has 2 classes.
    cfg = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    runner, counter = _runner(cfg, tmp_path / 'w',
                              **{'train_dataloader.dataset.num_classes': 51})
    with pytest.raises(ValueError) as info:
        runner.train()
    assert str(info.value).startswith(
        'model.cls_head.num_classes=2 but '
        'train_dataloader.dataset.num_classes=51.')
    assert counter.iters == 0


def test_image_head_vs_dataset_classes(tmp_path, tiny_image_data,
                                       clean_loggers):
    cfg = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        "default_hooks = dict(config_check=dict(type='ConfigCheckHook'))\n")
    runner, counter = _runner(cfg, tmp_path / 'w',
                              **{'model.head.num_classes': 3})
    with pytest.raises(ValueError) as info:
        runner.train()
    message = str(info.value)
    assert message.startswith('model.head.num_classes=3 but '
                              'model.data_preprocessor.num_classes=2 and '
                              'train_dataloader.dataset has 2 classes '
                              "(len(metainfo['classes']) of CustomDataset)")
    assert 'val_dataloader.dataset has 2 classes' in message
    assert counter.iters == 0


def test_matching_num_classes_trains(tmp_path, tiny_image_data, clean_loggers):
    cfg = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        "default_hooks = dict(config_check=dict(type='ConfigCheckHook'))\n")
    runner, counter = _runner(cfg, tmp_path / 'w',
                              **{'train_cfg.max_epochs': 1})
    runner.train()
    assert counter.iters == 2


def _stripes_config(tmp_path, data):
    return write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(data) +
        "default_hooks = dict(config_check=dict(type='ConfigCheckHook'))\n")


def _recased_copy(data, tmp_path):
    """``data`` with the class folder ``vertical`` of val renamed
    ``Vertical``, which sorts first: the same images, other labels."""
    root = tmp_path / 'recased'
    shutil.copytree(data, root)
    os.rename(root / 'val' / 'vertical', root / 'val' / 'Vertical')
    return str(root)


def test_validation_classes_at_other_labels_stop_training(
        tmp_path, tiny_image_data, clean_loggers):
    """A validation folder named in another case moved every label: the
    run validated at 0% without a word."""
    cfg = _stripes_config(tmp_path, tiny_image_data)
    root = _recased_copy(tiny_image_data, tmp_path)
    runner, counter = _runner(cfg, tmp_path / 'w',
                              **{'val_dataloader.dataset.data_root': root})
    with pytest.raises(ConfigError) as info:
        runner.train()
    assert str(info.value).startswith(
        "val_dataloader.dataset's classes ('Vertical', 'horizontal') are not "
        'the classes train_dataloader.dataset declares '
        "('horizontal', 'vertical'): label 0 is 'Vertical' there but "
        "'horizontal' in training, label 1 is 'horizontal' there but "
        "'vertical' in training, so its labels would be scored as other "
        'classes.')
    assert counter.iters == 0


def test_test_classes_are_checked_against_the_checkpoint(
        tmp_path, tiny_image_data, clean_loggers):
    """The test set is compared with the names the checkpoint records, as
    tools/test.py loads it (load_from); renamed classes only warn."""
    cfg = _stripes_config(tmp_path, tiny_image_data)
    runner, _ = _runner(
        cfg,
        tmp_path / 'w',
        experiment_name='train',
        **{'train_cfg.max_epochs': 1})
    runner.train()
    checkpoint = str(tmp_path / 'w' / 'epoch_1.pth')
    root = _recased_copy(tiny_image_data, tmp_path)
    runner, _ = _runner(
        cfg,
        tmp_path / 't',
        load_from=checkpoint,
        **{'test_dataloader.dataset.data_root': root})
    with pytest.raises(ConfigError) as info:
        runner.test()
    assert str(info.value).startswith(
        "test_dataloader.dataset's classes ('Vertical', 'horizontal') are "
        f'not the classes the checkpoint {checkpoint} was trained on (its '
        "meta['dataset_meta']['classes']) ('horizontal', 'vertical'): "
        "label 0 is 'Vertical' there but 'horizontal' in training")

    renamed = tmp_path / 'renamed'
    shutil.copytree(tiny_image_data, renamed)
    os.rename(renamed / 'val' / 'vertical', renamed / 'val' / 'w_vertical')
    runner, _ = _runner(
        cfg,
        tmp_path / 'r',
        load_from=checkpoint,
        **{'test_dataloader.dataset.data_root': str(renamed)})
    warnings = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    runner.logger.addHandler(handler)
    assert 'accuracy/top1' in runner.test()
    named = [w for w in warnings if 'taken as renamed classes' in w]
    assert len(named) == 1
    assert named[0].startswith(
        "test_dataloader.dataset's classes ('horizontal', 'w_vertical') are "
        f'not the classes the checkpoint {checkpoint} was trained on')


def test_labels_counted_from_one_stop_training(tmp_path, tiny_image_data,
                                               clean_loggers):
    """An annotation list of labels 1 and 2 for a 2-class head failed at the
    first batch holding a 2, inside the data preprocessor, naming no file
    (``Class values must be smaller than num_classes``)."""
    lines = []
    for label, name in enumerate(('horizontal', 'vertical'), start=1):
        folder = os.path.join(tiny_image_data, 'train', name)
        lines += [
            f'train/{name}/{image} {label}\n'
            for image in sorted(os.listdir(folder))
        ]
    ann_file = tmp_path / 'train.txt'
    ann_file.write_text(''.join(lines))
    cfg = _stripes_config(tmp_path, tiny_image_data)
    runner, counter = _runner(
        cfg, tmp_path / 'w', **{
            'train_dataloader.dataset.ann_file': str(ann_file),
            'train_dataloader.dataset.data_prefix': ''
        })
    with pytest.raises(ConfigError) as info:
        runner.train()
    count = len(lines) // 2
    assert str(info.value) == (
        f'train_dataloader.dataset (CustomDataset, ann_file {ann_file}): '
        f'{count} of {len(lines)} samples have a label outside [0, 2): '
        f'{tiny_image_data}/train/vertical/0.png (label 2), '
        f'{tiny_image_data}/train/vertical/1.png (label 2), '
        f'{tiny_image_data}/train/vertical/2.png (label 2), ... (the labels '
        'run from 1 to 2: they must count from 0), but '
        "model.head.num_classes=2. A label is the class's index, from 0.")
    assert counter.iters == 0


def test_a_hidden_class_folder_is_named(tmp_path, tiny_image_data,
                                        clean_loggers):
    """Jupyter's .ipynb_checkpoints in the training folder is a third class
    to CustomDataset; the advice to raise num_classes would train a class
    of nothing, so the error lists the classes and names the folder."""
    root = tmp_path / 'data'
    shutil.copytree(tiny_image_data, root)
    (root / 'train' / '.ipynb_checkpoints').mkdir()
    cfg = _stripes_config(tmp_path, str(root))
    runner, counter = _runner(cfg, tmp_path / 'w')
    with pytest.raises(ConfigError) as info:
        runner.train()
    assert str(info.value) == (
        'model.head.num_classes=2 but train_dataloader.dataset has 3 classes '
        "(len(metainfo['classes']) of CustomDataset) ('.ipynb_checkpoints', "
        "'horizontal', 'vertical'). Remove the hidden class folders "
        "['.ipynb_checkpoints'], which mmpretrain's CustomDataset counts as "
        'classes, or set model.head.num_classes to the number of classes of '
        'the data (and every other num_classes of the config with it).')
    assert counter.iters == 0


def _concat_runner(cfg_path, work_dir, second, **options):
    """The Runner of ``cfg_path`` whose training set is a ConcatDataset of
    its own and of one with ``second`` set."""
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict(options)
    first = cfg.train_dataloader.dataset
    cfg.train_dataloader.dataset = dict(
        type='ConcatDataset',
        datasets=[first, dict(first, **second)],
        ignore_keys=['classes'])
    cfg.work_dir = str(work_dir)
    runner = Runner.from_cfg(cfg)
    counter = _IterCounter()
    runner.register_hook(counter)
    return runner, counter


def test_each_dataset_of_a_concat_dataset_is_checked(tmp_path, tiny_video_data,
                                                     clean_loggers):
    """Only the first dataset of a ConcatDataset was checked: a second one
    of 51 classes trained a 2-class head (MMEngine compares metainfo, and
    mmaction2's num_classes is not in it)."""
    cfg = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    runner, counter = _concat_runner(cfg, tmp_path / 'w', dict(num_classes=51))
    with pytest.raises(ConfigError) as info:
        runner.train()
    assert str(info.value).startswith(
        'model.cls_head.num_classes=2 but '
        'train_dataloader.dataset.datasets.1.num_classes=51.')
    assert counter.iters == 0


def test_concat_datasets_with_classes_at_other_labels_stop_training(
        tmp_path, tiny_image_data, clean_loggers):
    """With ``ignore_keys=['classes']`` MMEngine concatenates datasets of
    other classes: a second folder whose ``Vertical`` sorts first gave
    each of its images the other label."""
    cfg = _stripes_config(tmp_path, tiny_image_data)
    root = _recased_copy(tiny_image_data, tmp_path)
    runner, counter = _concat_runner(cfg, tmp_path / 'w',
                                     dict(data_root=root, data_prefix='val'))
    with pytest.raises(ConfigError) as info:
        runner.train()
    assert str(info.value).startswith(
        "train_dataloader.dataset.datasets.1's classes ('Vertical', "
        "'horizontal') are not the classes train_dataloader.dataset."
        "datasets.0 declares ('horizontal', 'vertical'): label 0 is "
        "'Vertical' there but 'horizontal' in training")
    assert counter.iters == 0
    # The same classes in both train, as one set of twice the samples.
    runner, counter = _concat_runner(cfg, tmp_path / 'ok',
                                     dict(data_prefix='val'),
                                     **{'train_cfg.max_epochs': 1})
    runner.train()
    assert counter.iters == len(runner.train_dataloader) > 0
