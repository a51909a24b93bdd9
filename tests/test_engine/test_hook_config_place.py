# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Where a hook's refused argument was set, when the config file the run
started from can no longer be read: the refusal blamed a
``--cfg-options`` entry that was never given."""
from types import SimpleNamespace

from mmengine.config import Config

from mmadaptformer.engine.hooks.atomic_checkpoint_hook import \
    AtomicCheckpointHook
from mmadaptformer.engine.hooks.hook_config_place import hook_argument_place


def _runner(filename):
    # The attributes hook_argument_place reads of a Runner: its config,
    # whose default scope its hook types are looked up in.
    cfg = Config(
        dict(
            default_scope='mmaction',
            default_hooks=dict(
                checkpoint=dict(type='AtomicCheckpointHook', foo=1))),
        filename=filename)
    return SimpleNamespace(cfg=cfg, hooks=[])


def test_a_config_file_gone_since_names_the_key_alone(tmp_path):
    gone = tmp_path / 'gone.py'
    gone.write_text('')
    runner = _runner(str(gone))
    gone.unlink()
    place = hook_argument_place(runner, AtomicCheckpointHook(), 'foo', 1)
    assert place == 'default_hooks.checkpoint.foo = 1', place


def test_a_broken_config_file_names_the_key_alone(tmp_path):
    broken = tmp_path / 'broken.py'
    broken.write_text('')
    runner = _runner(str(broken))
    broken.write_text('default_hooks = dict(\n')
    place = hook_argument_place(runner, AtomicCheckpointHook(), 'foo', 1)
    assert place == 'default_hooks.checkpoint.foo = 1', place


def test_the_files_value_and_an_options_value_are_told_apart(tmp_path):
    """Guard of kept behaviour: a value the file holds is the file's; one
    it does not hold is an option's."""
    config = tmp_path / 'cfg.py'
    config.write_text('default_hooks = dict(checkpoint=dict('
                      "type='AtomicCheckpointHook', foo=1))\n")
    runner = _runner(str(config))
    hook = AtomicCheckpointHook()
    assert hook_argument_place(runner, hook, 'foo', 1) == \
        f'{config}: default_hooks.checkpoint.foo = 1'
    assert hook_argument_place(runner, hook, 'foo', 2) == \
        '--cfg-options default_hooks.checkpoint.foo=2'
