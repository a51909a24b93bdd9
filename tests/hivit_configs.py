# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tiny HiViT configs that tests train with tools/train.py."""
from typing import Optional, Sequence

from config_writers import image_data_cfg, write_config
from tool_runners import run_tool


def hivit_host(depths: Sequence[int],
               out_indices: Optional[Sequence[int]] = None) -> dict:
    """A tiny HiViT (embed_dims 32, 2 heads) of ``depths``, with
    ``out_indices`` if given (HiViT's default otherwise)."""
    host = dict(
        type='HiViT',
        arch=dict(embed_dims=32, depths=depths, num_heads=2),
        img_size=32)
    if out_indices is not None:
        host['out_indices'] = out_indices
    return host


def adapted_hivit_body(data: str,
                       depths: Sequence[int],
                       out_indices: Optional[Sequence[int]] = None) -> str:
    """Config lines of the tiny image AdaptFormer config for AdaptFormer
    around :func:`hivit_host`, a pooling neck and a 32-wide head, trained
    on ``data`` for an epoch on a random backbone."""
    host = dict(
        _delete_=True, init_cfg=None, **hivit_host(depths, out_indices))
    model = dict(
        backbone=dict(backbone=host),
        neck=dict(_delete_=True, type='GlobalAveragePooling'),
        head=dict(in_channels=32))
    return image_data_cfg(data) + (
        f'model = {model!r}\n'
        'train_cfg = dict(max_epochs=1)\n'
        "custom_hooks = [dict(type='AdapterHook', extra_trainable=[], "
        'adapter_only_checkpoint=True, allow_random_backbone=True)]\n')


def train_hivit(tmp_path, base: str, body: str, *options: str):
    """tools/train.py on ``tmp_path/hivit.py`` (``base`` and ``body``),
    work dir ``tmp_path/work``, with ``--cfg-options options`` if any.
    Returns the config, the work dir and the run."""
    config = write_config(tmp_path / 'hivit.py', base, body)
    work_dir = str(tmp_path / 'work')
    args = ['train.py', config, '--work-dir', work_dir]
    if options:
        args += ['--cfg-options', *options]
    proc = run_tool(args, cwd=tmp_path, check=False)
    return config, work_dir, proc
