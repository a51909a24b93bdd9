# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A head of more classes than the training annotation list holds is named
in a warning, for videos and images alike: a video config with
``cls_head.num_classes=400`` on a 2-label list trained without a word."""
import glob
import os
import os.path as osp

from config_writers import video_data_cfg, write_config
from mmengine.config import Config
from mmengine.runner import Runner
from repo_paths import TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG

from mmadaptformer.testing import (make_moving_square_dataset,
                                   make_stripes_dataset)

NO_VAL = 'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n'


def _warnings(tmp_path, config: str):
    cfg = Config.fromfile(config)
    cfg.work_dir = str(tmp_path / 'work')
    Runner.from_cfg(cfg).train()
    log, = glob.glob(osp.join(cfg.work_dir, '*', '*.log'))
    with open(log) as f:
        return [line for line in f if 'never train' in line]


def test_video_list_of_fewer_labels_is_named(clean_loggers, tmp_path):
    data = make_moving_square_dataset(
        str(tmp_path / 'data'), num_per_class=1, num_frames=4)
    config = write_config(
        tmp_path / 'cfg.py',
        TINY_VIDEO_CONFIG,
        # The list's dataset declares no number of classes, as a Kinetics
        # config's VideoDataset.
        video_data_cfg(data).replace(
            'dataset=dict(', 'dataset=dict(num_classes=None, ') + NO_VAL +
        'model = dict(cls_head=dict(num_classes=400))\n'
        'train_cfg = dict(max_epochs=1)\n')
    line, = _warnings(tmp_path, config)
    assert 'WARNING' in line
    assert ('model.cls_head.num_classes=400, but train_dataloader.dataset '
            f"(CheckedVideoDataset): the annotation file {data['train']} "
            'holds labels 0 to 1 (2 classes at most, 2 present). The '
            "head's other classes never train.") in line


def test_image_list_of_fewer_labels_is_named(clean_loggers, tmp_path):
    root = str(tmp_path / 'data')
    make_stripes_dataset(root, num_per_class=2, splits=('train', ))
    ann_file = osp.join(root, 'train.txt')
    with open(ann_file, 'w') as f:
        for label, name in enumerate(('horizontal', 'vertical')):
            for image in sorted(os.listdir(osp.join(root, 'train', name))):
                f.write(f'{name}/{image} {label}\n')
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG, NO_VAL + 'num_classes = 5\n'
        'model = dict(head=dict(num_classes=num_classes), '
        'data_preprocessor=dict(num_classes=num_classes))\n'
        f'train_dataloader = dict(dataset=dict(data_root={root!r}, '
        f"ann_file='train.txt', data_prefix='train'))\n"
        'train_cfg = dict(max_epochs=1)\n')
    line, = _warnings(tmp_path, config)
    assert ('model.head.num_classes=5, but train_dataloader.dataset '
            f'(CustomDataset): the annotation file {ann_file} holds labels 0 '
            'to 1 (2 classes at most, 2 present).') in line


def test_a_list_of_every_class_is_not_named(clean_loggers, tmp_path):
    """Keeps: the tiny video config on its own 2-class list warns of
    nothing."""
    data = make_moving_square_dataset(
        str(tmp_path / 'data'), num_per_class=1, num_frames=4)
    config = write_config(
        tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
        video_data_cfg(data) + NO_VAL + 'train_cfg = dict(max_epochs=1)\n')
    assert _warnings(tmp_path, config) == []


def test_parts_of_a_concatenated_list_are_taken_together(
        clean_loggers, tmp_path):
    """A training ConcatDataset of a list of labels 0-1 and one of labels
    2-3 holds every class of a 4-class head: each part alone was named as
    short of classes."""
    root = str(tmp_path / 'data')
    make_stripes_dataset(root, num_per_class=2, splits=('train', ))
    parts = []
    for first in (0, 2):
        ann_file = osp.join(root, f'train_{first}.txt')
        with open(ann_file, 'w') as f:
            for label, name in enumerate(('horizontal', 'vertical')):
                for image in sorted(os.listdir(osp.join(root, 'train', name))):
                    f.write(f'{name}/{image} {first + label}\n')
        parts.append(f"dict(type='CustomDataset', data_root={root!r}, "
                     f'ann_file={osp.basename(ann_file)!r}, '
                     "data_prefix='train', pipeline=_base_.train_pipeline)")
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG, NO_VAL + 'num_classes = 4\n'
        'model = dict(head=dict(num_classes=num_classes), '
        'data_preprocessor=dict(num_classes=num_classes))\n'
        'train_dataloader = dict(dataset=dict(_delete_=True, '
        f"type='ConcatDataset', datasets=[{', '.join(parts)}]))\n"
        'train_cfg = dict(max_epochs=1)\n')
    assert _warnings(tmp_path, config) == []
