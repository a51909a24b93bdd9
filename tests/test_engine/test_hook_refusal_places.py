# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A hook's refusal of its own argument names where the argument was set.

``AtomicCheckpointHook takes no argument foo=1`` and the AdapterHook's
``head=['nosuch']`` refusal named neither the config key
(``default_hooks.checkpoint.foo``, ``custom_hooks[0].head``) nor the
``--cfg-options`` entry that set it, while the refusals made before the
Runner is built name both; ``--resume auto``'s refusal said "overwrite
them" of one file."""
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     run_tool, video_data_cfg, write_config)
from refusal_lines import refused_line

from mmadaptformer.engine.resume import (NoResumableCheckpointError,
                                         find_resume_checkpoint)


def _train(tmp_path, config, *options):
    args = ['train.py', config, '--work-dir', tmp_path / 'w']
    if options:
        args += ['--cfg-options', *options]
    return refused_line(run_tool(args, cwd=tmp_path, check=False))


def test_checkpoint_hook_argument_names_its_option(tmp_path, tiny_video_data):
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    line = _train(tmp_path, config, 'default_hooks.checkpoint.foo=1')
    assert line.startswith(
        'ConfigError: --cfg-options default_hooks.checkpoint.foo=1: '
        'AtomicCheckpointHook takes no argument foo=1'), line


def test_checkpoint_hook_argument_names_its_file_and_key(
        tmp_path, tiny_video_data):
    config = write_config(
        tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        'default_hooks = dict(checkpoint=dict(intervl=1))\n')
    line = _train(tmp_path, config)
    assert line.startswith(
        f'ConfigError: {config}: default_hooks.checkpoint.intervl = 1: '
        'AtomicCheckpointHook takes no argument intervl=1 (did you mean '
        "'interval'?)"), line


def test_adapter_hook_head_names_its_option(tmp_path, tiny_video_data):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    line = _train(tmp_path, config, 'custom_hooks.0.head=[nosuch]')
    assert line.startswith(
        "ConfigError: --cfg-options custom_hooks.0.head=['nosuch']: "
        "AdapterHook head=['nosuch']: "), line


def test_adapter_hook_head_names_its_file_and_key(tmp_path, tiny_video_data):
    config = write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "custom_hooks = [dict(type='EmptyCacheHook'), dict(type='AdapterHook',"
        " extra_trainable=[r'^backbone\\.fc_norm\\.'], head=['nosuch'])]\n")
    line = _train(tmp_path, config)
    assert line.startswith(
        f"ConfigError: {config}: custom_hooks[1].head = ['nosuch']: "
        "AdapterHook head=['nosuch']: "), line


def test_resume_refusal_of_one_file_says_it(tmp_path):
    torch.save(dict(state_dict={}), tmp_path / 'epoch_1.pth')
    try:
        find_resume_checkpoint(str(tmp_path))
    except NoResumableCheckpointError as e:
        message = str(e)
    else:
        raise AssertionError('a work dir with epoch_1.pth alone resumed')
    assert 'which holds epoch_1.pth; starting over would overwrite it. ' \
        in message, message
    assert 'overwrite them' not in message


def test_resume_refusal_of_two_files_says_them(tmp_path):
    """Guard of kept behaviour: two files are 'them'."""
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        torch.save(dict(state_dict={}), tmp_path / name)
    try:
        find_resume_checkpoint(str(tmp_path))
    except NoResumableCheckpointError as e:
        message = str(e)
    else:
        raise AssertionError('a work dir with damaged checkpoints resumed')
    assert 'epoch_1.pth, epoch_2.pth; starting over would overwrite them.' \
        in message, message


def test_adapter_hook_mode_names_its_option(tmp_path, tiny_video_data):
    """Linear probing of a model with adapters is the mode's fault, not the
    head's or the patterns'."""
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    line = _train(tmp_path, config, 'custom_hooks.0.mode=linear_probe')
    assert line.startswith(
        "ConfigError: --cfg-options custom_hooks.0.mode='linear_probe': "
        "AdapterHook mode='linear_probe' trains the head"), line


def test_custom_checkpoint_hook_argument_names_its_own_key(
        tmp_path, tiny_video_data):
    """A hook in ``custom_hooks`` of a ``default_hooks`` entry's type: a
    second AtomicCheckpointHook's argument was named
    ``default_hooks.checkpoint.NAME``, a key the config does not hold."""
    config = write_config(
        tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "custom_hooks = [dict(type='AtomicCheckpointHook', interval=1,"
        ' intervl=2)]\n')
    line = _train(tmp_path, config)
    assert line.startswith(
        f'ConfigError: {config}: custom_hooks[0].intervl = 2: '
        'AtomicCheckpointHook takes no argument intervl=2'), line
