# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A config written from the README's "Writing your own config" diff that
keeps the wrapper but drops the hook lines: no ``AdapterHook`` and no
``ConfigCheckHook`` (the one that refused it at run time). Before, nothing
froze the backbone: it trained whole and every checkpoint held it, without
a word. Now ``tools/train.py`` refuses it from the config, before the work
dir, naming the file (or the ``--cfg-options`` entry) and what to add."""
import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, pretrained_cfg, run_tool,
                     video_data_cfg, write_config)
from refusal_lines import refused_line

# The recipe hooks of the tiny config dropped: MMEngine's own only.
STOCK_HOOKS_CFG = ('default_hooks = dict(_delete_=True, '
                   "logger=dict(type='LoggerHook', interval=1), "
                   "checkpoint=dict(type='CheckpointHook', interval=1))\n"
                   'train_cfg = dict(max_epochs=1)\nparam_scheduler = []\n')


@pytest.mark.parametrize('where', ['file', 'option'])
def test_wrapper_without_any_hook_is_refused_before_work_dir(
        tmp_path, stock_video_backbone, tiny_video_data, where):
    body = video_data_cfg(tiny_video_data) + pretrained_cfg(
        stock_video_backbone) + STOCK_HOOKS_CFG
    options = []
    if where == 'file':
        body += 'custom_hooks = []\n'
    else:
        options = ['--cfg-options', 'custom_hooks=[]']
    config = write_config(tmp_path / 'readme_diff.py',
                          TINY_ADAPTFORMER_VIDEO_CONFIG, body)
    work = tmp_path / 'work'
    proc = run_tool(
        ['train.py', config, '--work-dir', work] + options,
        cwd=tmp_path,
        check=False)
    line = refused_line(proc, absent=['Epoch(train)'], no_dir=str(work))
    place = 'readme_diff.py: ' if where == 'file' else \
        '--cfg-options custom_hooks=[]: '
    assert place in line, line
    assert 'model.backbone is AdaptFormer' in line, line
    # Both sections are read (an AdapterHook in default_hooks counts).
    assert 'no AdapterHook is in custom_hooks or default_hooks' in line, line
    assert "dict(type='AdapterHook', adapter_only_checkpoint=True)" in line
    assert "dict(type='ConfigCheckHook', allow_trained_host=True)" in line


def test_recipe_hooks_kept_refused_before_work_dir(tmp_path,
                                                   stock_video_backbone,
                                                   tiny_video_data):
    """With the recipes' ``ConfigCheckHook`` kept, the refusal came only
    once the Runner ran it, after it made the work dir."""
    config = write_config(
        tmp_path / 'own_hooks.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        pretrained_cfg(stock_video_backbone) +
        "custom_hooks = [dict(type='EmptyCacheHook')]\n")
    work = tmp_path / 'work'
    proc = run_tool(['train.py', config, '--work-dir', work],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, no_dir=str(work))
    assert 'own_hooks.py: model.backbone is AdaptFormer' in line, line
