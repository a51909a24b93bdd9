# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tiny plain (unwrapped) mmaction2 backbones that load their own weights,
a linear-probe config on them, and a state-dict file of one."""
from typing import Tuple

import torch
from config_writers import video_data_cfg, write_config
from mmengine.registry import MODELS, init_default_scope
from repo_paths import TINY_VIDEO_CONFIG

#: A tiny TimeSformer, which takes no init_cfg and reads its own
#: ``pretrained``.
TIMESFORMER = dict(
    type='TimeSformer',
    num_frames=4,
    img_size=32,
    patch_size=16,
    embed_dims=64,
    num_heads=2,
    num_transformer_layers=1)
#: The head of a probe on each host type.
HEADS = dict(
    TimeSformer=dict(in_channels=64),
    UniFormer=dict(
        _delete_=True,
        type='I3DHead',
        in_channels=64,
        num_classes=2,
        average_clips='prob'))


def save_host(host_cfg: dict, path: str, prefix: str = '') -> dict:
    """Save the state dict of the stock host ``host_cfg`` (seed 0) under
    ``'state_dict'``, its keys behind ``prefix``; return it without the
    prefix."""
    init_default_scope('mmaction')
    torch.manual_seed(0)
    host = MODELS.build(dict(host_cfg))
    host.init_weights()
    state = host.state_dict()
    torch.save({'state_dict': {prefix + k: v for k, v in state.items()}}, path)
    return state


def probe_config(tmp_path, data, backbone: dict) -> str:
    """``probe.py``: the tiny video recipe linear probing the plain
    ``backbone`` (with its head of :data:`HEADS`) for one epoch."""
    model = dict(
        backbone=dict(backbone, _delete_=True),
        cls_head=HEADS[backbone['type']])
    return write_config(
        tmp_path / 'probe.py', TINY_VIDEO_CONFIG,
        video_data_cfg(data) + f'model = {model!r}\n'
        "custom_hooks = [dict(type='AdapterHook', mode='linear_probe')]\n"
        'train_cfg = dict(max_epochs=1)\n')


def swin3d_as_2d(state: dict, window: Tuple[int, int]) -> dict:
    """Swin's 2D layout of a Swin3D state dict, which Swin3D inflates:
    its relative position tables cut to a 2D ``window`` (height, width)."""
    two = {}
    for key, value in state.items():
        if 'relative_position_index' in key or 'attn_mask' in key:
            continue
        if key == 'patch_embed.proj.weight':
            value = value.sum(2)
        if 'relative_position_bias_table' in key:
            value = value[:(2 * window[0] - 1) * (2 * window[1] - 1)]
        if key.startswith('norm1.'):  # the last stage's norm
            key = 'norm.' + key.split('.', 1)[1]
        two[key] = value
    return two
