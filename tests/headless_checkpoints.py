# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Checkpoints that lack part of a model: its head, adapters or final norm."""
from typing import Sequence

from checkpoint_makers import (save_as_built_checkpoint,
                               save_stock_video_checkpoint)
from config_writers import video_data_cfg, write_config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool


def save_without(full: str,
                 path,
                 prefixes: Sequence[str],
                 parts: Sequence[str] = ()) -> str:
    """``full``'s checkpoint saved as ``path`` without the tensors whose key
    starts with one of ``prefixes`` (``'cls_head.'``) or holds one of
    ``parts`` (``'.adaptmlp.'``); returns ``path`` as a str."""
    import torch
    checkpoint = torch.load(full, map_location='cpu', weights_only=True)
    checkpoint['state_dict'] = {
        k: v
        for k, v in checkpoint['state_dict'].items()
        if not k.startswith(tuple(prefixes)) and not any(p in k for p in parts)
    }
    torch.save(checkpoint, path)
    return str(path)


def adaptformer_video_without(tmp_path,
                              video_data: dict,
                              name: str,
                              prefixes: Sequence[str],
                              parts=()) -> tuple:
    """The tiny AdaptFormer video config on ``video_data``
    (``tmp_path / 'adaptformer.py'``) and its model's checkpoint as built
    without the tensors :func:`save_without` drops for ``prefixes`` and
    ``parts``, saved as ``tmp_path / name``: ``(config, checkpoint)``."""
    config = write_config(tmp_path / 'adaptformer.py',
                          TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(video_data))
    full = save_as_built_checkpoint(config, tmp_path / 'full.pth')
    return config, save_without(full, tmp_path / name, prefixes, parts)


def converted_stock_backbone(tmp_path) -> str:
    """A tiny stock MMAction2-layout checkpoint through the real
    ``convert_official.py``, which keeps its backbone alone (no adapters,
    no head): ``tmp_path / 'converted.pth'``."""
    import torch
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    converted = str(tmp_path / 'converted.pth')
    run_tool([
        'model_converters/convert_official.py', stock, converted,
        '--num-frames', '4', '--img-size', '32'
    ], tmp_path)
    saved = torch.load(converted, weights_only=True)['state_dict']
    assert not [k for k in saved if k.startswith('cls_head.')]
    return converted
