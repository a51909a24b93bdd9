# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A user who "freezes the backbone" with the optimizer, as in a full
fine-tuning recipe: ``custom_keys=dict(backbone=dict(lr_mult=0.))``. Under
AdaptFormer the adapters sit inside the backbone, so they got lr 0 and kept
their initialisation (a zero up-projection: they added nothing), while the
run trained the head only, with a warning that ended "ignore this if it is
what you want". Now the run is refused before its first step, with the
cause and the fix."""
import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, pretrained_cfg, run_tool,
                     video_data_cfg, write_config)
from refusal_lines import refused_line

ZERO = ('optim_wrapper = dict(paramwise_cfg=dict(custom_keys='
        'dict(backbone=dict(lr_mult=0.))))\n')


@pytest.mark.parametrize('where', ['file', 'option'])
def test_adapters_at_lr_zero_are_refused(tmp_path, stock_video_backbone,
                                         tiny_video_data, where):
    body = video_data_cfg(tiny_video_data) + pretrained_cfg(
        stock_video_backbone)
    options = []
    if where == 'file':
        body += ZERO
    else:
        options = [
            '--cfg-options',
            'optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult=0'
        ]
    config = write_config(tmp_path / 'zero.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          body)
    work = tmp_path / 'work'
    proc = run_tool(
        ['train.py', config, '--work-dir', work] + options,
        cwd=tmp_path,
        check=False)
    line = refused_line(proc, absent=['Epoch(train)'])
    assert not list(work.glob('*.pth'))
    assert 'AdapterHook: 10 tensors that should train (' in line, line
    assert 'adaptmlp' in line, line
    assert 'are at 0x the base lr: they would never change.' in line, line
    if where == 'file':
        assert 'Likely cause: optim_wrapper.paramwise_cfg.custom_keys[' \
            "'backbone'] (lr_mult=0)." in line, line
        assert line.endswith(
            'add to your config: optim_wrapper = dict(paramwise_cfg=dict('
            'custom_keys=dict(backbone=dict(lr_mult=1.0))))'), line
    else:
        assert line.endswith(
            'add at the end of your --cfg-options: optim_wrapper.'
            'paramwise_cfg.custom_keys.backbone.lr_mult=1.0'), line
