# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A registry miss is never answered with a private registered name.

A test's helper hook (``_RecordAdapterDtypeHook``, registered in the
mmaction hook registry by ``test_adapter_hook.py``) was offered to a user
who typed ``AdapterHok``: "did you mean 'AdapterHook' or
'_RecordAdapterDtypeHook'?".
"""
from mmaction.registry import HOOKS
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope

from mmadaptformer.utils.registry_names import registry_miss


@HOOKS.register_module(force=True)
class _AdapterHookRecorder(Hook):
    """A private hook, as a test or a module registers its own helper."""


def test_a_private_name_is_not_offered():
    cfg = Config(
        dict(default_scope='mmaction', custom_hooks=[dict(type='AdapterHok')]))
    init_default_scope('mmaction')
    try:
        HOOKS.build(dict(type='AdapterHok'))
    except KeyError as exc:
        error = registry_miss(exc, cfg, 'cfg.py')
    else:
        raise AssertionError('AdapterHok was built')
    assert error is not None
    assert "did you mean 'AdapterHook'?" in str(error), str(error)
    assert '_AdapterHookRecorder' not in str(error), str(error)
