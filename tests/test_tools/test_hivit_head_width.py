# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A HiViT whose head's ``in_channels`` is not ``embed_dims`` is refused
before the work dir, wrapped in AdaptFormer and plain.

HiViT declared no feature width, so its head was not checked: a tiny
HiViT (``embed_dims=32``) with a 16-wide head trained until its first
step and failed after the work dir was made, plain with ``mat1 and mat2
shapes cannot be multiplied (4x32 and 16x2)``, in AdaptFormer (whose tiny
config has a ``BNLinearClsHead``) with ``running_mean should contain 32
elements not 16``.
"""
import os.path as osp

from config_writers import image_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import CONFIGS, TINY_ADAPTFORMER_IMAGE_CONFIG
from tool_runners import run_tool

TINY_VIT = osp.join(CONFIGS, 'tiny', 'tiny_vit_image.py')
HOST = dict(
    type='HiViT',
    arch=dict(embed_dims=32, depths=[1, 1, 7], num_heads=2),
    img_size=32,
    out_indices=[23])


def _train(tmp_path, base: str, backbone: dict, data: str):
    model = dict(
        backbone=backbone,
        neck=dict(_delete_=True, type='GlobalAveragePooling'),
        head=dict(in_channels=16))
    body = image_data_cfg(data) + (f'model = {model!r}\n'
                                   'train_cfg = dict(max_epochs=1)\n')
    if base == TINY_ADAPTFORMER_IMAGE_CONFIG:
        body += ("custom_hooks = [dict(type='AdapterHook', "
                 'extra_trainable=[], adapter_only_checkpoint=True, '
                 'allow_random_backbone=True)]\n')
    config = write_config(tmp_path / 'hivit.py', base, body)
    work_dir = str(tmp_path / 'work')
    proc = run_tool(['train.py', config, '--work-dir', work_dir],
                    cwd=tmp_path,
                    check=False)
    return config, refused_line(proc, no_dir=work_dir)


def test_train_refuses_a_wrong_head_behind_adapted_hivit(
        tmp_path, tiny_image_data):
    host = dict(_delete_=True, init_cfg=None, **HOST)
    config, line = _train(tmp_path, TINY_ADAPTFORMER_IMAGE_CONFIG,
                          dict(backbone=host), tiny_image_data)
    assert line == (
        f'ConfigError: {config}: model.head.in_channels: the head takes '
        'in_channels=16, but the backbone (model.backbone.backbone, HiViT) '
        'gives it 32-wide features; set model.head.in_channels=32, or '
        'change the backbone.'), line


def test_train_refuses_a_wrong_head_behind_plain_hivit(tmp_path,
                                                       tiny_image_data):
    config, line = _train(tmp_path, TINY_VIT, dict(_delete_=True, **HOST),
                          tiny_image_data)
    assert line == (
        f'ConfigError: {config}: model.head.in_channels: the head takes '
        'in_channels=16, but the backbone (model.backbone, HiViT) gives it '
        '32-wide features; set model.head.in_channels=32, or change the '
        'backbone.'), line
