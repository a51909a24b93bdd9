# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A registry miss in a child registry named apart from its root gets its
"did you mean" hint like any other.

mmpretrain's optimizer wrappers live in a child named ``optimizer_wrapper``
under MMEngine's ``optim_wrapper``; the look-up matched the root's name
only, so the miss came back with no hint.
"""
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import OPTIM_WRAPPERS

from mmadaptformer.utils.registry_names import registry_miss


def test_a_wrapper_typo_under_mmpretrain_gets_the_close_names():
    cfg = Config(
        dict(
            default_scope='mmpretrain',
            optim_wrapper=dict(
                type='OptimWrapperr', optimizer=dict(type='SGD', lr=0.1))))
    init_default_scope('mmpretrain')
    try:
        OPTIM_WRAPPERS.build(dict(cfg.optim_wrapper))
    except KeyError as exc:
        error = registry_miss(exc, cfg, 'cfg.py')
    else:
        raise AssertionError('OptimWrapperr was built')
    assert error is not None
    assert "did you mean 'OptimWrapper'" in str(error), str(error)
