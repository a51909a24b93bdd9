# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The config key of a hook whose type two entries share
(``default_hooks.checkpoint`` and an AtomicCheckpointHook in
``custom_hooks``): the first entry of the type was named for both."""
from types import SimpleNamespace

from mmengine.config import Config

from mmadaptformer.engine.hooks.atomic_checkpoint_hook import \
    AtomicCheckpointHook
from mmadaptformer.engine.hooks.hook_config_place import hook_config_key


def test_a_custom_hook_of_higher_priority_is_told_apart():
    # The Runner registers default_hooks, then custom_hooks, each after
    # the hooks of its priority or a higher one: the custom hook of
    # priority VERY_HIGH comes before the default one of VERY_LOW.
    cfg = Config(
        dict(
            default_scope='mmaction',
            default_hooks=dict(checkpoint=dict(type='AtomicCheckpointHook')),
            custom_hooks=[
                dict(type='AtomicCheckpointHook', priority='VERY_HIGH')
            ]))
    default, custom = AtomicCheckpointHook(), AtomicCheckpointHook()
    runner = SimpleNamespace(cfg=cfg, hooks=[custom, default])
    assert hook_config_key(runner, custom) == 'custom_hooks[0]'
    assert hook_config_key(runner, default) == 'default_hooks.checkpoint'


def test_default_hooks_are_in_the_runners_order():
    # MMEngine registers its own default hooks' names (checkpoint among
    # them) first, whatever the config's order, then the config's others.
    cfg = Config(
        dict(
            default_scope='mmaction',
            default_hooks=dict(
                extra=dict(type='AtomicCheckpointHook'),
                checkpoint=dict(type='AtomicCheckpointHook'))))
    first, second = AtomicCheckpointHook(), AtomicCheckpointHook()
    runner = SimpleNamespace(cfg=cfg, hooks=[first, second])
    assert hook_config_key(runner, first) == 'default_hooks.checkpoint'
    assert hook_config_key(runner, second) == 'default_hooks.extra'
