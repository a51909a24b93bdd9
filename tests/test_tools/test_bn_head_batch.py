# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A training batch of one sample with the BatchNorm+Linear head ends
tools/train.py with one line and exit status 1: ``batch_size=1`` is refused
before the work dir, naming the key and the head; a last batch of 1 (an
epoch's remainder with ``drop_last=False``) is the head's own refusal, on
one line. Both were a traceback through the Runner's loop ending in the
head's ``ValueError``."""
import pytest
from config_writers import image_data_cfg, write_config
from helpers import TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, video_data_cfg
from refused_runs import refused_run

#: The head's refusal of a batch of one sample, after its name.
HEAD_TEXT = (
    ': a training batch of 1 sample, which its BatchNorm1d cannot normalise '
    '(it needs more than 1 value per channel). Drop the last incomplete '
    'batch with train_dataloader.drop_last=True, as the recipes do, and '
    'train with train_dataloader.batch_size of at least 2.')


@pytest.fixture
def image_bn_config(tmp_path, tiny_image_data):
    """The tiny image config with the BatchNorm+Linear head, on 8 images."""
    return write_config(
        tmp_path / 'bn.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        "model = dict(head=dict(type='BNLinearHead'))\n")


def test_batch_size_1_is_refused_before_the_work_dir(tmp_path,
                                                     image_bn_config):
    line = refused_run(
        'train.py',
        image_bn_config,
        tmp_path,
        '--cfg-options',
        'train_dataloader.batch_size=1',
        no_work_dir=True)
    assert line == (
        'ConfigError: --cfg-options train_dataloader.batch_size=1: '
        'model.head (BNLinearHead, '
        'BatchNorm+Linear) cannot train on a batch of 1 sample, which its '
        'BatchNorm1d cannot normalise; give train_dataloader.batch_size '
        'of at least 2 (per process).')


def test_batch_size_1_in_the_file_is_named_with_the_file(
        tmp_path, tiny_video_data):
    """mmaction2's head, under ``model.cls_head``, set in the config file."""
    config = write_config(
        tmp_path / 'bn.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data).replace(
            'train_dataloader = dict(',
            'train_dataloader = dict(batch_size=1, ') +
        "model = dict(cls_head=dict(type='BNLinearHead'))\n")
    assert refused_run(
        'train.py', config, tmp_path, no_work_dir=True) == (
            f'ConfigError: {config}: train_dataloader.batch_size = 1: '
            'model.cls_head (BNLinearHead, BatchNorm+Linear) cannot train on '
            'a batch of 1 sample, which its BatchNorm1d cannot normalise; '
            'give train_dataloader.batch_size of at least 2 (per process).')


def test_a_last_batch_of_1_is_the_heads_one_line(tmp_path, image_bn_config):
    """8 images at 7 a batch, ``drop_last=False``: the epoch's second batch
    holds 1 image, which only the head sees."""
    line = refused_run('train.py', image_bn_config, tmp_path, '--cfg-options',
                       'train_dataloader.batch_size=7')
    assert line == 'SingleSampleBatchError: BNLinearClsHead' + HEAD_TEXT
