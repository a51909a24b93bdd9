# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What :func:`check_bn_head_batch` refuses and lets through."""
import pytest
from mmengine.config import Config

from mmadaptformer.engine import check_bn_head_batch
from mmadaptformer.models import BNLinearClsHead
from mmadaptformer.utils import ConfigError


def _cfg(loader: dict, head_type='BNLinearClsHead', scope='mmpretrain'):
    return Config(
        dict(
            default_scope=scope,
            model=dict(type='ImageClassifier', head=dict(type=head_type)),
            train_dataloader=loader))


def test_no_batch_size_is_the_data_loaders_1():
    with pytest.raises(ConfigError) as refusal:
        check_bn_head_batch(_cfg(dict(dataset=dict())), 'cfg.py')
    assert str(refusal.value) == (
        "cfg.py: train_dataloader sets no batch_size (PyTorch's DataLoader "
        'takes 1): model.head (BNLinearClsHead, BatchNorm+Linear) cannot '
        'train on a batch of 1 sample, which its BatchNorm1d cannot '
        'normalise; give train_dataloader.batch_size of at least 2 (per '
        'process).')


def test_the_head_given_as_a_class_is_named_by_its_class():
    with pytest.raises(ConfigError, match=r'model\.head \(BNLinearClsHead,'):
        check_bn_head_batch(
            _cfg(dict(batch_size=1), BNLinearClsHead), 'cfg.py')


@pytest.mark.parametrize('loader, head_type', [
    (dict(batch_size=2), 'BNLinearClsHead'),
    (dict(batch_size=1), 'LinearClsHead'),
    (dict(batch_sampler=dict(type='AspectRatioBatchSampler')),
     'BNLinearClsHead'),
])
def test_what_passes(loader, head_type):
    """Guards kept behaviour: a batch of 2 or more, another head, a batch
    sampler (given its own batch size) pass."""
    check_bn_head_batch(_cfg(loader, head_type), 'cfg.py')
