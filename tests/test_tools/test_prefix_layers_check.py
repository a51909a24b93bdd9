# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``benchmark_infer.py --prefix-layers`` checks the blocks on a wrapper
built on the meta device where its host allows it.

The check built the wrapper on the CPU (0.4 s for the image recipes'
ViT-B on one thread), which the shared-prefix row builds again for its
tasks; on the meta device it takes 0.02 s. mmaction2's ViT cannot be built
there and is built on the CPU as before. The host's builds are counted
where the registry builds it: a real subclass of the stock backbone,
registered for the test, that records the device of each try.
"""
import pytest
import torch
from mmaction.registry import MODELS as MMACTION_MODELS
from mmengine.config import Config
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from repo_paths import (TINY_ADAPTFORMER_IMAGE_CONFIG,
                        TINY_ADAPTFORMER_VIDEO_CONFIG)
from tool_modules import load_tool

import mmadaptformer  # noqa: F401  (registers modules, closes gaps)


@pytest.fixture
def host_tries():
    """The devices the counted hosts were built on, one entry per try."""
    tries = []
    # mmaction2's and mmpretrain's ViTs, from the registries that the
    # package made importable (mmaction2 1.2.0 lacks a models folder).
    video_vit = MMACTION_MODELS.get('VisionTransformer')
    image_vit = MMPRETRAIN_MODELS.get('VisionTransformer')

    class _PrefixVideoViT(video_vit):

        def __init__(self, *args, **kwargs):
            tries.append(str(torch.get_default_device()))
            super().__init__(*args, **kwargs)

    class _PrefixImageViT(image_vit):

        def __init__(self, *args, **kwargs):
            tries.append(str(torch.get_default_device()))
            super().__init__(*args, **kwargs)

    MMACTION_MODELS.register_module(module=_PrefixVideoViT)
    MMPRETRAIN_MODELS.register_module(module=_PrefixImageViT)
    try:
        yield tries
    finally:
        MMACTION_MODELS.module_dict.pop('_PrefixVideoViT')
        MMPRETRAIN_MODELS.module_dict.pop('_PrefixImageViT')


def _problem(config: str, host: str, layers):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({'model.backbone.backbone.type': host})
    tool = load_tool('analysis_tools/benchmark_infer.py')
    return tool.prefix_layers_problem(cfg, layers)


@pytest.mark.parametrize('config,host,tries', [
    (TINY_ADAPTFORMER_IMAGE_CONFIG, '_PrefixImageViT', ['meta']),
    (TINY_ADAPTFORMER_VIDEO_CONFIG, '_PrefixVideoViT', ['meta', 'cpu']),
])
def test_blocks_the_model_has_are_checked_without_its_weights(
        host_tries, config, host, tries):
    """The image host is built once, on the meta device (was: on the
    CPU); the video host, which the meta device refuses, is then built on
    the CPU, as before."""
    assert _problem(config, host, [-1]) is None
    assert host_tries == tries


@pytest.mark.parametrize('config,host,tries', [
    (TINY_ADAPTFORMER_IMAGE_CONFIG, '_PrefixImageViT', ['meta']),
    (TINY_ADAPTFORMER_VIDEO_CONFIG, '_PrefixVideoViT', ['meta', 'cpu']),
])
def test_blocks_the_model_lacks_are_refused_in_the_same_words(
        host_tries, config, host, tries):
    """The refusal reads as the wrapper built on the CPU gave it (a guard
    of kept wording), from the meta device's build where it can be made
    there."""
    assert _problem(config, host, [
        2
    ]) == ('prefix_layers=[2] (the adapted blocks of the shared-prefix row): '
           'model.backbone.layers=[2] contains 2, but the model has 2 '
           'adaptable blocks, so valid indices are 0..1 (or -2..-1).')
    assert host_tries == tries
