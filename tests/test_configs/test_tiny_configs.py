# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The tiny CPU configs (``configs/tiny``) run the recipes' hooks
(``configs/_base_/default_hooks.py``), so what a recipe refuses a tiny run
refuses too: before, they inherited only the host toolbox's runtime, and
``load_from`` a checkpoint of another architecture trained on random
weights without a word."""
import os.path as osp

import pytest
import torch
from helpers import (CONFIGS, TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, config_runner, video_data_cfg)
from mmengine.config import Config
from mmpretrain.registry import MODELS

from mmadaptformer.utils.state_dict_check import StateDictMismatchError

TINY = (TINY_VIDEO_CONFIG, TINY_IMAGE_CONFIG, TINY_ADAPTFORMER_VIDEO_CONFIG,
        osp.join(CONFIGS, 'tiny', 'tiny_adaptformer_image.py'))


@pytest.mark.parametrize('path', TINY, ids=osp.basename)
def test_tiny_configs_run_every_recipe_hook(path):
    recipe = Config.fromfile(osp.join(CONFIGS, '_base_',
                                      'default_hooks.py')).recipe_hooks
    hooks = Config.fromfile(path).default_hooks
    for name, hook in recipe.items():
        assert hooks[name]['type'].split('.')[-1] == hook.get(
            'type', hooks[name]['type']), (name, hooks[name])
    # Theirs: a checkpoint every epoch (3 kept), a log line every iteration.
    assert hooks.checkpoint.interval == 1
    assert hooks.checkpoint.max_keep_ckpts == 3
    assert hooks.logger.interval == 1


def test_load_from_another_architecture_is_refused_by_a_real_runner(
        tmp_path, tiny_video_data, clean_loggers):
    """The tiny image ViT's weights (mmpretrain key names, none of which
    the video recognizer has) as the video config's ``load_from``."""
    image_model = MODELS.build(Config.fromfile(TINY_IMAGE_CONFIG).model)
    other = tmp_path / 'image_vit.pth'
    torch.save(
        dict(state_dict=image_model.state_dict(), meta=dict()), str(other))
    runner = config_runner(
        tmp_path, TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + f'load_from = {str(other)!r}\n')
    with pytest.raises(
            StateDictMismatchError,
            match=rf'^{other} does not fit the model: it is an image '
            "model's checkpoint \\(MMPretrain's ViT"):
        runner.train()
    assert not list((tmp_path / 'work').glob('epoch_*.pth'))
