# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What every GPU check shares: tiny real datasets, stock checkpoints the
adapters train on, and the configs that point at them."""
import os
import os.path as osp
from typing import Dict

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from ...testing import make_moving_square_dataset, make_stripes_dataset
from ...utils.quiet_build import quiet_build_log

REPO_ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TINY_CONFIGS = dict(
    video=osp.join(REPO_ROOT, 'configs', 'tiny', 'tiny_adaptformer_video.py'),
    video_stock=osp.join(REPO_ROOT, 'configs', 'tiny', 'tiny_vit_video.py'),
    image_stock=osp.join(REPO_ROOT, 'configs', 'tiny', 'tiny_vit_image.py'))


def save_stock_checkpoint(config: str, path: str, seed: int = 0) -> str:
    """Save a full checkpoint of a config's stock model, random weights.

    Args:
        config (str): A config of a stock (adapter-free) model.
        path (str): Where the checkpoint is written.
        seed (int): Seeds the weights. Defaults to 0.

    Returns:
        str: ``path``.
    """
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(seed)
    # MMEngine reports every tensor's init (about 250 lines for the two
    # tiny models) on the console, where the check prints nothing else.
    with quiet_build_log():
        model = MODELS.build(cfg.model)
        model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def _pretrained(path: str, **extra) -> dict:
    return dict(
        type='Pretrained', checkpoint=path, prefix='backbone.', **extra)


def _write(path: str, text: str) -> str:
    with open(path, 'w') as f:
        f.write(text)
    return path


def prepare_workspace(root: str) -> Dict[str, str]:
    """Write the tiny datasets, stock checkpoints and AdaptFormer configs.

    The video config is ``configs/tiny/tiny_adaptformer_video.py`` on a
    stock checkpoint; the image config wraps
    ``configs/tiny/tiny_vit_image.py``'s backbone in AdaptFormer with the
    same AdapterHook (adapter-only checkpoints). Both load their frozen
    weights from a checkpoint, so an adapter-only checkpoint resumes and
    tests on the same frozen weights.

    Args:
        root (str): An empty or missing folder.

    Returns:
        dict: Paths: ``video_config``, ``image_config``, ``video_data``
        (the dataset folder), ``image_data``, ``video_stock``,
        ``image_stock`` (the checkpoints).
    """
    os.makedirs(root, exist_ok=True)
    video = make_moving_square_dataset(
        osp.join(root, 'video_data'), num_per_class=4)
    image = osp.join(root, 'image_data')
    make_stripes_dataset(image, num_per_class=4)
    video_stock = save_stock_checkpoint(TINY_CONFIGS['video_stock'],
                                        osp.join(root, 'video_stock.pth'))
    image_stock = save_stock_checkpoint(TINY_CONFIGS['image_stock'],
                                        osp.join(root, 'image_stock.pth'))

    lines = [f'_base_ = [{TINY_CONFIGS["video"]!r}]']
    for loader, split in (('train_dataloader', 'train'),
                          ('val_dataloader', 'val'), ('test_dataloader',
                                                      'val')):
        lines.append(f'{loader} = dict(dataset=dict(ann_file='
                     f'{video[split]!r}, data_prefix=dict(video='
                     f'{video["videos"]!r})))')
    lines.append('model = dict(backbone=dict(backbone=dict(init_cfg='
                 f'{_pretrained(video_stock, _delete_=True)!r})))')
    video_config = _write(
        osp.join(root, 'adaptformer_video.py'), '\n'.join(lines) + '\n')

    backbone = Config.fromfile(TINY_CONFIGS['image_stock']).model.backbone
    backbone = dict(backbone.to_dict(), init_cfg=_pretrained(image_stock))
    lines = [f'_base_ = [{TINY_CONFIGS["image_stock"]!r}]']
    lines += [
        f'{loader} = dict(dataset=dict(data_root={image!r}))'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    lines.append(
        f'model = dict(backbone=dict(_delete_=True, type=\'AdaptFormer\', '
        f'backbone={backbone!r}, adapter=dict(bottleneck=8, scale=0.1, '
        f'dropout=0.)))')
    lines.append("custom_hooks = [dict(type='AdapterHook', "
                 'adapter_only_checkpoint=True)]')
    image_config = _write(
        osp.join(root, 'adaptformer_image.py'), '\n'.join(lines) + '\n')
    return dict(
        video_config=video_config,
        image_config=image_config,
        video_data=osp.dirname(video['videos']),
        image_data=image,
        video_stock=video_stock,
        image_stock=image_stock)
