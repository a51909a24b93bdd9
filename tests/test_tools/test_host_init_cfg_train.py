# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/train.py on a tiny video config whose host is swapped for
mmaction2's MViT or TimeSformer with the tiny configs' ``init_cfg=None``.

A plain MViT failed with ``AttributeError: 'NoneType' object has no
attribute 'copy'`` (its constructor copies its init_cfg) and a plain
TimeSformer (a plain ``nn.Module``) was refused, both after the work dir
was made; both are refused before it now, naming what to write. Inside a
wrapper both are built (see ``test_models/test_host_init_cfg.py``).
"""
import os.path as osp

import pytest
from config_writers import video_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG
from tool_runners import run_tool

MVIT = dict(
    type='MViT',
    arch=dict(embed_dims=16, num_layers=2, num_heads=1, downscale_indices=[1]),
    spatial_size=32,
    temporal_size=4,
    init_cfg=None)
TIMESFORMER = dict(
    type='TimeSformer',
    num_frames=4,
    img_size=32,
    patch_size=16,
    embed_dims=64,
    num_heads=2,
    num_transformer_layers=1,
    init_cfg=None)


def _train(tmp_path, base: str, body: str):
    config = write_config(tmp_path / 'swapped.py', base, body)
    work_dir = str(tmp_path / 'work')
    proc = run_tool(['train.py', config, '--work-dir', work_dir],
                    cwd=tmp_path,
                    check=False)
    return config, work_dir, proc


def _plain(data, host: dict, head: dict) -> str:
    model = dict(backbone=dict(_delete_=True, **host), cls_head=head)
    return video_data_cfg(data) + (f'model = {model!r}\n'
                                   'train_cfg = dict(max_epochs=1)\n')


def test_train_refuses_plain_mvit_init_cfg_none(tmp_path, tiny_video_data):
    head = dict(type='MViTHead', in_channels=32)
    config, work_dir, proc = _train(tmp_path, TINY_VIDEO_CONFIG,
                                    _plain(tiny_video_data, MVIT, head))
    line = refused_line(proc, absent=['NoneType'], no_dir=work_dir)
    assert line == (
        f'ConfigError: {config}: model.backbone.init_cfg = None: '
        "mmaction2's MViT copies its init_cfg in its constructor and fails "
        'on None; leave init_cfg out for its own default init, or give '
        "one, e.g. dict(type='Pretrained', checkpoint=FILE)."), line


def test_train_refuses_plain_timesformer_init_cfg(tmp_path, tiny_video_data):
    head = dict(in_channels=64)
    config, work_dir, proc = _train(tmp_path, TINY_VIDEO_CONFIG,
                                    _plain(tiny_video_data, TIMESFORMER, head))
    line = refused_line(proc, no_dir=work_dir)
    assert line.startswith(f'ConfigError: {config}: model.backbone.init_cfg '
                           "= None: mmaction2's TimeSformer is a plain "
                           'nn.Module and takes no init_cfg'), line
    assert 'model.backbone.pretrained=FILE' in line, line


@pytest.mark.parametrize('host,width', [(MVIT, 32), (TIMESFORMER, 64)])
def test_train_wrapped_host_with_init_cfg_none(tmp_path, tiny_video_data, host,
                                               width):
    """AdaptFormer around MViT or TimeSformer with ``init_cfg=None`` trains
    an epoch (random frozen host)."""
    head = dict(in_channels=width)
    if host['type'] == 'MViT':
        head['type'] = 'MViTHead'
    model = dict(
        backbone=dict(backbone=dict(_delete_=True, **host)), cls_head=head)
    body = video_data_cfg(tiny_video_data) + (
        f'model = {model!r}\n'
        'train_cfg = dict(max_epochs=1)\n'
        "custom_hooks = [dict(type='AdapterHook', extra_trainable=[], "
        'adapter_only_checkpoint=True, allow_random_backbone=True)]\n')
    _, work_dir, proc = _train(tmp_path, TINY_ADAPTFORMER_VIDEO_CONFIG, body)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth')), proc.stdout[-3000:]
