# Copyright (c) mmadaptformer contributors. All rights reserved.
"""mmadaptformer/apis/prefix_layers.py on the repository's configs."""
import os.path as osp

import pytest
from helpers import CONFIGS, TINY_ADAPTFORMER_VIDEO_CONFIG
from mmengine.config import Config

from mmadaptformer.apis.benchmark import benchmark_inference
from mmadaptformer.apis.prefix_layers import (adaptable_block_count,
                                              default_prefix_layers,
                                              default_prefix_source)
from mmadaptformer.utils import ConfigError


@pytest.mark.parametrize(
    'config, blocks',
    [(TINY_ADAPTFORMER_VIDEO_CONFIG, 2),
     (osp.join(CONFIGS, 'benchmark', 'adaptformer_vits_8x112.py'), 12),
     (osp.join(CONFIGS, 'adaptformer_vitb_cifar100.py'), 12)])
def test_adaptable_block_count_of_real_configs(config, blocks):
    cfg = Config.fromfile(config)
    assert adaptable_block_count(cfg) == blocks
    # Every adaptable block, whatever the config's layers select.
    cfg.model.backbone.layers = [0]
    assert adaptable_block_count(cfg) == blocks


def test_adaptable_block_count_refuses_a_host_without_blocks():
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.model.backbone.backbone.depth = 0
    with pytest.raises(
            ConfigError,
            match=r'model\.backbone\.backbone '
            r'\(VisionTransformer\) has no transformer block'):
        adaptable_block_count(cfg)


def test_default_prefix_layers_leave_a_block_shared():
    """The default was the last min(3, N) blocks: on a model of 3 blocks
    or fewer every block was adapted and nothing was shared."""
    assert default_prefix_layers(12) == [-3, -2, -1]
    assert default_prefix_layers(4) == [-3, -2, -1]
    assert default_prefix_layers(3) == [-2, -1]
    assert default_prefix_layers(2) == [-1]
    # Nothing can be shared in a model of one block.
    assert default_prefix_layers(1) == [-1]
    assert default_prefix_layers(12, count=1) == [-1]
    with pytest.raises(ValueError, match=r'num_blocks \(0\)'):
        default_prefix_layers(0)


def test_default_prefix_source_says_how_the_count_was_chosen():
    assert default_prefix_source(12, 'prefix_layers') == (
        "default, the last 3 of the model's 12 adaptable blocks "
        '(min(3, N - 1), so that at least one block is shared; '
        'prefix_layers not given)')
    assert default_prefix_source(1, '--prefix-layers') == (
        "default, the model's only adaptable block (no block is left to "
        'share; --prefix-layers not given)')


def test_benchmark_inference_default_fits_a_model_of_fewer_blocks(tmp_path):
    """The Python API defaulted to the last three blocks and refused the
    tiny two-block model for an argument nobody gave; then to both of its
    blocks, which shared nothing (split_at 0)."""
    result = benchmark_inference(
        Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG),
        str(tmp_path),
        num_tasks=(1, ),
        prefix_tasks=2,
        repeat=1,
        warmup=0,
        log=lambda _: None)
    prefix = result['shared_prefix']
    assert prefix['layers'] == [-1]
    assert set(prefix['split_at'].values()) == {1}
    assert prefix['layers_source'] == (
        "default, the last 1 of the model's 2 adaptable blocks "
        '(min(3, N - 1), so that at least one block is shared; '
        'prefix_layers not given)')
