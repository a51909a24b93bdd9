# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The tiny stripes image task as AdaptFormer: config, images, training."""
import os.path as osp
from typing import Dict, List, Tuple

from checkpoint_makers import save_stock_image_checkpoint
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


def train_stripes_task(folder,
                       data: str,
                       stock: str,
                       extra_trainable: List[str],
                       seed: int,
                       lines: str = '') -> Dict[str, str]:
    """Train the stripes task for an epoch in ``folder`` (made here): its
    ViT loaded from the checkpoint ``stock``, AdapterHook training
    ``extra_trainable`` besides adapters and head and saving adapter-only
    checkpoints; ``lines`` are config lines before those. Returns the
    task's ``config`` and ``checkpoint``."""
    from mmengine.config import Config
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.runner import Runner
    folder.mkdir()
    config = stripes_config(
        folder, data,
        lines + "model['backbone']['backbone']['init_cfg'] = dict("
        f"type='Pretrained', checkpoint={stock!r}, prefix='backbone.')\n"
        "custom_hooks = [dict(type='AdapterHook', "
        f'adapter_only_checkpoint=True, extra_trainable={extra_trainable!r})]'
        '\n')
    cfg = Config.fromfile(config)
    cfg.work_dir = str(folder / 'work')
    cfg.randomness = dict(seed=seed)
    cfg.train_cfg.max_epochs = 1
    Runner.from_cfg(cfg).train()
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()
    return dict(
        config=config, checkpoint=osp.join(cfg.work_dir, 'epoch_1.pth'))


def train_stripes_tasks(
        root, data: str,
        tasks: Dict[str, Tuple[List[str], list]]) -> Dict[str, Dict[str, str]]:
    """The stripes tasks of ``tasks`` (by name: the keys each trains
    besides adapters and head, and its blocks with adapters), each trained
    by :func:`train_stripes_task` in ``root/name`` (seeds 0, 1, ... in
    order) on one stock tiny ViT (``root/stock.pth``)."""
    stock = str(root / 'stock.pth')
    save_stock_image_checkpoint(stock)
    return {
        name: train_stripes_task(root / name, data, stock, extra, seed,
                                 f"model['backbone']['layers'] = {layers}\n")
        for seed, (name, (extra, layers)) in enumerate(tasks.items())
    }
