# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which state-dict keys are the part a model trains (its adapters or
prompts): one answer, :func:`~mmadaptformer.utils.trained_part_fit.
added_part_keys`, for every model the package builds and every caller.

The engine had a second one (``model_trained_part_keys``), which looked
only inside frozen-host wrappers under their own prefix: it found none of
the adapters that ``inject_adapters`` attaches to a model without a
wrapper, and none of an AdaptFormer's inside a VPT, while the evaluation
refusals (by type) found them.
"""
import pytest
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from repo_paths import CONFIGS
from torch import nn

from mmadaptformer.models import inject_adapters
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.trained_part_fit import (added_part_keys,
                                                  trained_part_name)

IMAGE_ARCH = dict(
    embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)
VIDEO_HOST = dict(
    img_size=32, embed_dims=64, depth=2, num_heads=2, num_frames=4)


def _host(backbone):
    """The stock backbone of a config's ``model.backbone``."""
    while backbone.type in ('AdaptFormer', 'VPT'):
        backbone = backbone.backbone
    return backbone


def _build(config, nest_in_vpt=False):
    """The model of a repository config, its ViT shrunk to the tiny shapes
    (a no-op for the tiny configs)."""
    cfg = Config.fromfile(f'{CONFIGS}/{config}')
    model = cfg.model
    if nest_in_vpt:
        model.backbone = dict(
            type='VPT', num_prompts=1, deep=False, backbone=model.backbone)
    host = _host(model.backbone)
    if 'arch' in host:
        host.update(arch=IMAGE_ARCH, img_size=32)
    else:
        host.update(VIDEO_HOST)
    host.init_cfg = None
    model.get('cls_head', model.get('head')).in_channels = 64
    init_default_scope(cfg.default_scope)
    return MODELS.build(model)


def _adapters(prefix, blocks):
    return [
        f'{prefix}.{block}.adaptmlp.{proj}.{name}' for block in blocks
        for proj in ('down_proj', 'up_proj') for name in ('weight', 'bias')
    ]


VIDEO_ADAPTERS = _adapters('backbone.blocks', (0, 1))
IMAGE_ADAPTERS = _adapters('backbone.layers', (0, 1))
PROMPTS = ['backbone.prompt_embeddings']

CASES = {
    'tiny/tiny_adaptformer_video.py': (VIDEO_ADAPTERS, 'adapter'),
    'tiny/tiny_adaptformer_rawframes.py': (VIDEO_ADAPTERS, 'adapter'),
    'tiny/tiny_adaptformer_image.py': (IMAGE_ADAPTERS, 'adapter'),
    'tiny/tiny_vit_video.py': ([], 'adapter'),
    'tiny/tiny_vit_image.py': ([], 'adapter'),
    'adaptformer_vitb_ssv2.py': (VIDEO_ADAPTERS, 'adapter'),
    'adaptformer_vitb_cifar100.py': (IMAGE_ADAPTERS, 'adapter'),
    'baselines/vpt-deep_vitb_ssv2.py': (PROMPTS, 'prompt'),
    'baselines/vpt-deep_vitb_cifar100.py': (PROMPTS, 'prompt'),
    'baselines/linear-probe_vitb_hmdb51.py': ([], 'adapter'),
    'baselines/linear-probe_vitb_food101.py': ([], 'adapter'),
    'baselines/full-finetune_vitb_svhn.py': ([], 'adapter'),
}


@pytest.mark.parametrize('config', sorted(CASES))
def test_the_repository_configs_keep_their_trained_part(config):
    """A guard of kept behaviour: for every kind of config the answer is
    what both functions (this one and the engine's
    ``model_trained_part_keys``) gave before they became one, and a
    DataParallel-wrapped model gives it with its ``module.`` prefix."""
    keys, part = CASES[config]
    model = _build(config)
    assert added_part_keys(model) == keys
    assert trained_part_name(model) == part
    assert added_part_keys(
        nn.DataParallel(model)) == [f'module.{key}' for key in keys]


def test_adapters_attached_without_a_wrapper_are_the_trained_part():
    """``inject_adapters`` on a stock model (README: adapters on any built
    ``nn.Module``): the engine's answer was ``[]``, so resuming such a
    model from a stock checkpoint failed with an ``IndexError``."""
    model = _build('tiny/tiny_vit_image.py')
    inject_adapters(model.backbone, adapter=dict(bottleneck=4))
    assert added_part_keys(model) == IMAGE_ADAPTERS


def test_an_adaptformer_inside_a_vpt_is_refused_at_build():
    """A VPT whose host is an AdaptFormer was half-checked (its records,
    config keys and loads take one wrapper around a stock host; tools/train.py
    then refused it as an unloaded backbone): refused where it is built."""
    with pytest.raises(ConfigError) as info:
        _build('tiny/tiny_adaptformer_image.py', nest_in_vpt=True)
    assert str(info.value) == (
        'VPT cannot wrap AdaptFormer (model.backbone.backbone.type='
        "'AdaptFormer'): a model takes one frozen-host wrapper, around a "
        'stock backbone. Give VPT the stock backbone that AdaptFormer '
        'wraps, or use AdaptFormer alone.')
