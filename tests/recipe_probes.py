# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What the recipes' pipelines give the backbone; what a run saves."""
import os.path as osp
from typing import Optional

from repo_paths import CONFIGS, TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG

#: Pure red (255, 0, 0) after the recipes' mean and std, per RGB channel.
RED_NORMALISED = [(255 - 123.675) / 58.395, -116.28 / 57.12, -103.53 / 57.375]


def recipe_channel_means(config: str, index: int = 0):
    """The per-channel means of test item ``index`` of a recipe (a path
    under ``configs/``, its data found from the working directory) as its
    data preprocessor gives them to the backbone, and that item's data
    info.

    Returns:
        tuple: ``(means, info)``, ``means`` an array of 3 (the channels in
        the backbone's order), ``info`` the dataset's ``get_data_info``.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    video = cfg.model.data_preprocessor.get('type') == 'ActionDataPreprocessor'
    if video:
        from mmaction.registry import DATASETS, MODELS
        preprocessor_cfg = cfg.model.data_preprocessor
    else:
        from mmpretrain.registry import DATASETS, MODELS
        preprocessor_cfg = dict(
            type='ClsDataPreprocessor', **cfg.model.data_preprocessor)
    init_default_scope('mmaction' if video else 'mmpretrain')
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    item = dataset[index]
    batch = MODELS.build(preprocessor_cfg)(
        dict(inputs=[item['inputs']], data_samples=[item['data_samples']]))
    inputs = batch['inputs'][0]  # (C, H, W), or (views, C, T, H, W)
    channels = inputs.transpose(0, 1) if video else inputs
    means = channels.reshape(3, -1).mean(dim=1).numpy()
    return means, dataset.get_data_info(index)


def recipe_run_dataset_meta(recipe: str,
                            work_dir: str,
                            num_classes: int,
                            batch_size: Optional[int] = None) -> dict:
    """One epoch of a real Runner on a recipe's training set (the tiny
    image or video ViT at the recipe's 224 crop and 8 frames in place of
    ViT-B, data found from the working directory): the ``dataset_meta``
    MMEngine saved in ``epoch_1.pth``."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmadaptformer.utils import safe_torch_load
    recipe_cfg = Config.fromfile(osp.join(CONFIGS, recipe))
    video = recipe_cfg.model.data_preprocessor.get(
        'type') == 'ActionDataPreprocessor'
    cfg = Config.fromfile(TINY_VIDEO_CONFIG if video else TINY_IMAGE_CONFIG)
    cfg.train_dataloader.dataset = recipe_cfg.train_dataloader.dataset
    if batch_size is not None:
        cfg.train_dataloader.batch_size = batch_size
    cfg.model.backbone.img_size = 224
    if video:
        cfg.model.backbone.num_frames = 8
        cfg.model.cls_head.num_classes = num_classes
    else:
        cfg.model.head.num_classes = num_classes
        cfg.model.data_preprocessor.num_classes = num_classes
    cfg.train_cfg.max_epochs = 1
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.work_dir = work_dir
    Runner.from_cfg(cfg).train()
    checkpoint = safe_torch_load(osp.join(work_dir, 'epoch_1.pth'))
    return checkpoint['meta']['dataset_meta']
