# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A hook registered outside the config (``runner.register_hook``, a
Runner subclass) beside one of its type that the config built: the hook's
refusal named the config's entry, and a ``--cfg-options`` entry nobody
gave (``--cfg-options default_hooks.checkpoint.foo=1``)."""
import pytest
from config_writers import config_runner
from helpers import TINY_IMAGE_CONFIG, image_data_cfg

from mmadaptformer.engine import AtomicCheckpointHook, hook_config_key
from mmadaptformer.utils import ConfigError


@pytest.fixture
def runner(tmp_path, tiny_image_data, clean_loggers):
    return config_runner(tmp_path, TINY_IMAGE_CONFIG,
                         image_data_cfg(tiny_image_data))


def _refusal(hook, runner) -> str:
    with pytest.raises(ConfigError) as e:
        hook.before_train(runner)
    return str(e.value)


@pytest.mark.parametrize('priority', ['VERY_HIGH', 'VERY_LOW'])
def test_a_hook_registered_outside_the_config_is_named_by_no_key(
        runner, priority):
    config_hook = next(
        h for h in runner.hooks if isinstance(h, AtomicCheckpointHook))
    extra = AtomicCheckpointHook(interval=1, foo=1)
    runner.register_hook(extra, priority=priority)
    assert hook_config_key(runner, extra) is None
    # The config's own hook is not told apart from it either.
    assert hook_config_key(runner, config_hook) is None
    message = _refusal(extra, runner)
    assert message.startswith(
        'config entry unknown (the runner holds 2 AtomicCheckpointHook hooks '
        'and its config builds 1: a hook of the type was registered or '
        'removed outside the config, so which entry, if any, built this one '
        'cannot be told): AtomicCheckpointHook takes no argument foo=1'
    ), message
    assert 'default_hooks' not in message and '--cfg-options' not in message


def test_the_config_hook_alone_keeps_its_key(tmp_path, tiny_image_data,
                                             clean_loggers):
    """Guards behaviour that already worked: with the config's hooks only,
    the key is named."""
    runner = config_runner(
        tmp_path, TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        'default_hooks = dict(checkpoint=dict(foo=1))\n')
    config_hook = next(
        h for h in runner.hooks if isinstance(h, AtomicCheckpointHook))
    assert hook_config_key(runner, config_hook) == 'default_hooks.checkpoint'
    assert _refusal(config_hook, runner).startswith(
        f'{tmp_path / "cfg.py"}: default_hooks.checkpoint.foo = 1: '
        'AtomicCheckpointHook takes no argument foo=1')
