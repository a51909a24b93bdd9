# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The tiny stripes image task as AdaptFormer: its config, images."""
import os.path as osp
from typing import List

from config_writers import image_data_cfg, write_config
from repo_paths import TINY_IMAGE_CONFIG


def stripes_config(tmp_path, data: str, extra: str = '') -> str:
    """The tiny ViT image task (``tiny_image_data``) as AdaptFormer
    (adapters in the last block), with ``extra`` config lines:
    ``tmp_path/stripes.py``."""
    return write_config(
        osp.join(str(tmp_path), 'stripes.py'), TINY_IMAGE_CONFIG,
        image_data_cfg(data) +
        "model = dict(backbone=dict(_delete_=True, type='AdaptFormer', "
        'adapter=dict(bottleneck=8), layers=[-1], backbone=dict('
        "type='VisionTransformer', arch=dict(embed_dims=64, num_layers=2, "
        'num_heads=2, feedforward_channels=128), img_size=32, '
        "patch_size=16, out_type='cls_token')))\n" + extra)


def stripes_images(data: str) -> List[str]:
    """Two validation images of each class of ``tiny_image_data``."""
    return sorted(
        osp.join(data, 'val', c, f) for c in ('horizontal', 'vertical')
        for f in ('0.png', '1.png'))
