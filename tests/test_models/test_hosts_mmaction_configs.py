# Copyright (c) mmadaptformer contributors. All rights reserved.
"""UniFormerV2, MViT, TimeSformer, UniFormer (and Video Swin's own loading)
built from MMAction2's real configs: the host at zero init, only adapters
train, refusals that say what to write instead, and --pretrained in place
of the host's own weights."""
import os.path as osp
import re

import pytest
import torch
from block_builders import assert_only_adapters_have_gradients, flat_outputs
from helpers import REPO_ROOT, assert_host_loads_pretrained, write_config
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.models import (AdaptFormer, adapter_modules,
                                  adapter_parameter_names)
from mmadaptformer.utils import ConfigError

DIMS = 32
VIDEO = (1, 3, 4, 32, 32)

# Each host: (an MMAction2 config, tiny overrides of its backbone, the
# adapted blocks). UniFormerV2's global UniBlocks (transformer.dec) and
# UniFormer's convolution stages (blocks1, blocks2) get no adapter.
CONFIGS = {
    'uniformerv2':
    ('recognition/uniformerv2/uniformerv2-base-p16-res224_clip-'
     'kinetics710-pre_8xb32-u8_kinetics400-rgb.py',
     dict(
         input_resolution=32,
         width=DIMS,
         layers=3,
         heads=2,
         t_size=4,
         return_list=[1, 2],
         n_layers=2,
         n_dim=DIMS,
         n_head=2,
         mlp_dropout=[0.5, 0.5],
         init_cfg=None), [f'transformer.resblocks.{i}' for i in range(3)]),
    'mvit': ('recognition/mvit/mvit-small-p244_32xb16-16x4x1-200e_'
             'kinetics400-rgb.py',
             dict(
                 arch=dict(
                     _delete_=True,
                     embed_dims=16,
                     num_layers=3,
                     num_heads=1,
                     downscale_indices=[1]),
                 spatial_size=32,
                 temporal_size=4), ['blocks.0', 'blocks.1', 'blocks.2']),
    'timesformer':
    ('recognition/timesformer/timesformer_divST_8xb8-8x32x1-'
     '15e_kinetics400-rgb.py',
     dict(
         pretrained=None,
         num_frames=4,
         img_size=32,
         embed_dims=DIMS,
         num_heads=2,
         num_transformer_layers=2),
     [f'transformer_layers.layers.{i}.ffns.0' for i in range(2)]),
    'uniformer':
    ('recognition/uniformer/uniformer-small_imagenet1k-pre_16x4x1_'
     'kinetics400-rgb.py',
     dict(
         depth=[1, 1, 2, 1],
         embed_dim=[16, 16, DIMS, DIMS],
         head_dim=16,
         img_size=32,
         pretrained2d=False), ['blocks3.0', 'blocks3.1', 'blocks4.0']),
}


def _backbone_cfg(tmp_path, config, overrides):
    """The backbone of an MMAction2 config with ``overrides`` merged in."""
    path = write_config(tmp_path / 'host.py', f'mmaction::{config}',
                        f'model = dict(backbone={overrides!r})\n')
    init_default_scope('mmaction')
    return Config.fromfile(path).model.backbone.to_dict()


def _stock_and_adapted(cfg, **kwargs):
    torch.manual_seed(0)
    stock = MODELS.build(cfg)
    stock.init_weights()
    model = AdaptFormer(backbone=cfg, adapter=dict(bottleneck=8), **kwargs)
    model.load_state_dict(stock.state_dict(), strict=False)
    return stock.train(False), model.train(False)


@pytest.mark.parametrize('host', CONFIGS)
def test_zero_init_keeps_the_config_host_and_only_adapters_train(
        host, tmp_path, freeze_all_but_adapters):
    config, overrides, blocks = CONFIGS[host]
    stock, model = _stock_and_adapted(
        _backbone_cfg(tmp_path, config, overrides))
    assert model.adapted_blocks == blocks
    assert list(adapter_modules(
        model.backbone)) == [f'{block}.adaptmlp' for block in blocks]
    x = torch.randn(VIDEO)
    assert torch.equal(flat_outputs(model(x)), flat_outputs(stock(x)))
    keys = set(model.state_dict())
    adapter_keys = {k for k in keys if '.adaptmlp.' in k}
    assert len(adapter_keys) == 4 * len(blocks)
    assert keys - adapter_keys == set(stock.state_dict())

    freeze_all_but_adapters(model)
    out = flat_outputs(model(x))
    (out * torch.randn_like(out)).sum().backward()
    assert_only_adapters_have_gradients(model,
                                        set(adapter_parameter_names(model)))


def test_mvit_blocks_that_widen_in_their_mlp_are_refused(tmp_path):
    """With dim_mul_in_attention=False (the MaskFeat recipe) the block
    before a width change widens in its MLP and adds a projection of its
    norm's output: there is no x + h to adapt. The error names the layers
    to adapt instead, with which the host is exact."""
    cfg = _backbone_cfg(
        tmp_path, 'recognition/mvit/mvit-small-p244_k400-maskfeat-pre_'
        '8xb32-16x4x1-100e_kinetics400-rgb.py',
        dict(CONFIGS['mvit'][1], pretrained=None, pretrained_type=None))
    assert cfg['dim_mul_in_attention'] is False
    with pytest.raises(
            ValueError,
            match=r"Block 'blocks.0' \(MultiScaleBlock\) cannot be adapted: "
            r"its feed-forward network 'mlp' maps 16 to 32 channels.*"
            r'layers=\[1, 2\]'):
        AdaptFormer(backbone=cfg)
    stock, model = _stock_and_adapted(cfg, layers=[1, 2])
    assert model.adapted_blocks == ['blocks.1', 'blocks.2']
    x = torch.randn(VIDEO)
    assert torch.equal(flat_outputs(model(x)), flat_outputs(stock(x)))


@pytest.mark.parametrize('attention_type', ['space_only', 'joint_space_time'])
def test_timesformer_of_mmcv_layers_is_told_the_readme_block_types(
        attention_type, tmp_path):
    """TimeSformer's space-only and joint space-time layers are mmcv's
    BaseTransformerLayer, which no host claims. A config without
    block_types is refused with the declaration the README documents for
    them, word for word, and where it goes; copied into the config, it
    builds a model that is the host at zero init."""
    config, overrides, _ = CONFIGS['timesformer']
    host = _backbone_cfg(tmp_path, config,
                         dict(overrides, attention_type=attention_type))

    def adaptformer_config(name, extra=''):
        return Config.fromfile(
            write_config(
                tmp_path / name, f'mmaction::{config}',
                'model = dict(backbone=dict(_delete_=True, '
                "type='AdaptFormer', adapter=dict(bottleneck=8), "
                f'backbone={host!r}{extra}))\n'))

    lacking = adaptformer_config('lacking.py')
    init_default_scope('mmaction')
    with pytest.raises(ConfigError) as err:
        MODELS.build(lacking.model.backbone)
    message = str(err.value)
    assert '\n' not in message
    assert f'TimeSformer with attention_type={attention_type!r} builds its ' \
        "layers as mmcv's generic BaseTransformerLayer" in message, message
    found = re.search(
        r'add (block_types=\[.*?\]) to the AdaptFormer config '
        r"\(model\.backbone, next to its backbone=dict\(type='TimeSformer'",
        message)
    assert found, message
    declared = found.group(1)
    with open(osp.join(REPO_ROOT, 'README.md')) as f:
        readme = ' '.join(f.read().split())
    assert f'`{declared}`' in readme, declared
    assert 'README\'s "Writing your own config" documents' in message

    copied = adaptformer_config('copied.py', f', {declared}')
    torch.manual_seed(0)
    stock = MODELS.build(host)
    stock.init_weights()
    model = MODELS.build(copied.model.backbone)
    assert model.adapted_blocks == [
        f'transformer_layers.layers.{i}' for i in range(2)
    ]
    model.load_state_dict(stock.state_dict(), strict=False)
    x = torch.randn(VIDEO)
    assert torch.equal(
        flat_outputs(model.train(False)(x)),
        flat_outputs(stock.train(False)(x)))


@pytest.mark.parametrize('host', CONFIGS)
def test_pretrained_init_cfg_loads_the_host(host, tmp_path):
    """As ``--pretrained`` sets it, whatever the host's own init_weights()
    does with an init_cfg: TimeSformer takes none, UniFormer ignores it
    with its default ``pretrained2d=True``."""
    config, overrides, _ = CONFIGS[host]
    overrides = {k: v for k, v in overrides.items() if k != 'pretrained2d'}
    assert_host_loads_pretrained(
        _backbone_cfg(tmp_path, config, overrides), tmp_path)


# Hosts whose own init_weights() loads the weights they name (tiny overrides
# that keep that on): --pretrained replaces those weights, so the wrapper
# must not let the host fetch them first (offline that failed).
NOWHERE = 'http://127.0.0.1:9/own_weights.pth'
OWN_PRETRAINED = {
    'swin3d': ('recognition/swin/swin-tiny-p244-w877_in1k-pre_8xb8-amp-'
               '32x2x1-30e_kinetics400-rgb.py',
               dict(
                   arch=dict(
                       _delete_=True,
                       embed_dims=16,
                       depths=[1, 1, 1, 1],
                       num_heads=[1, 1, 1, 1]),
                   window_size=(2, 4, 4),
                   drop_path_rate=0.,
                   pretrained=NOWHERE,
                   pretrained2d=True)),
    'timesformer': (CONFIGS['timesformer'][0],
                    dict(CONFIGS['timesformer'][1], pretrained=NOWHERE)),
    'uniformer':
    (CONFIGS['uniformer'][0],
     dict(CONFIGS['uniformer'][1], pretrained=NOWHERE, pretrained2d=True)),
    'uniformerv2':
    (CONFIGS['uniformerv2'][0],
     dict(CONFIGS['uniformerv2'][1], pretrained=NOWHERE,
          clip_pretrained=True)),
}


@pytest.mark.parametrize('host', OWN_PRETRAINED)
def test_pretrained_file_stops_the_host_loading_its_own(host, tmp_path):
    config, overrides = OWN_PRETRAINED[host]
    cfg = _backbone_cfg(tmp_path, config, overrides)
    # Without a file of the wrapper's, the host's own loading still runs.
    with pytest.raises(Exception) as err:
        AdaptFormer(backbone=cfg).init_weights()
    assert NOWHERE in str(err.value) or 'Connection refused' in str(
        err.value) or isinstance(err.value, KeyError), repr(err.value)
    # The stock backbone of the checkpoint is built without that loading.
    stock_cfg = dict(cfg, pretrained=None)
    for name in ('pretrained2d', 'clip_pretrained'):
        if name in stock_cfg:
            stock_cfg[name] = False
    assert_host_loads_pretrained(stock_cfg, tmp_path, host_cfg=cfg)
