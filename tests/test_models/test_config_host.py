# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What :mod:`mmadaptformer.models.backbones.config_host` does that its
tests left out, found by a mutation audit: the host behind each wrapper
(a lookup that knew AdaptFormer alone, not the wrappers' shared base,
passed them, and so did one that named the wrapper's key), and the CPU
build after a failed meta build reading a fresh copy of the config."""
import os.path as osp

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import MODELS as ROOT_MODELS
from repo_paths import CONFIGS, TINY_ADAPTFORMER_VIDEO_CONFIG
from torch import nn

from mmadaptformer.models.backbones.config_host import (build_on_meta_or_cpu,
                                                        config_host)


@pytest.mark.parametrize('config', [
    TINY_ADAPTFORMER_VIDEO_CONFIG,
    osp.join(CONFIGS, 'baselines', 'vpt-deep_vitb_ssv2.py')
])
def test_the_host_inside_each_wrapper_is_found(config):
    cfg = Config.fromfile(config)
    key, host_cfg, cls = config_host(cfg)
    assert key == 'model.backbone.backbone'
    assert host_cfg is cfg.model.backbone.backbone
    assert cls is MODELS.get('mmaction.VisionTransformer')


class PopsItsPart(nn.Module):
    """A module whose constructor changes the config it is given (as
    mmaction2's recognizer pops a torchvision or timm backbone's ``type``)
    and cannot be built on the meta device (it reads a value with
    ``.item()``)."""

    def __init__(self, part: dict):
        super().__init__()
        part.pop('type')
        self.width = int(torch.full((1, ), part['width']).item())


def test_the_cpu_build_gets_a_fresh_copy_of_the_config():
    ROOT_MODELS.register_module(module=PopsItsPart, force=True)
    node = dict(type='PopsItsPart', part=dict(type='Part', width=3))
    try:
        module = build_on_meta_or_cpu(node)
    finally:
        ROOT_MODELS.module_dict.pop('PopsItsPart')
    assert module.width == 3
    assert node == dict(type='PopsItsPart', part=dict(type='Part', width=3))
