# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Checkpoints without the integer buffers a model computes itself.

The ``relative_position_index`` of BEiT's attention is built from the
window size; mmpretrain's BEiT leaves it out of the state dict it loads
where it expands a shared table or resizes one, and converters drop it.
MMEngine loads such a checkpoint with a warning. With the backbone wrapped
in AdaptFormer it was refused as "a full checkpoint with holes" (and as a
damaged file by the pretrained check), though no weight was missing. A
checkpoint without a float tensor of the blocks is still refused.
"""
import pytest
import torch
from config_writers import write_config
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.apis import init_model
from mmadaptformer.utils.model_keys import index_keys
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

BEIT = ("dict(_delete_=True, type='BEiTViT', arch=dict(embed_dims=32, "
        'num_layers=2, num_heads=2, feedforward_channels=64), img_size=32, '
        "patch_size=16, out_type='avg_featmap', use_abs_pos_emb=False, "
        'use_rel_pos_bias=True, layer_scale_init_value=0.1)')


def _config(tmp_path) -> str:
    return write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
        f'model = dict(backbone=dict(backbone={BEIT}), '
        'head=dict(in_channels=32))\n')


def _trained(config: str) -> torch.nn.Module:
    """The model with every tensor off its initialisation."""
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.rand_like(param))
    return model.eval()


def _save(model, path, drop) -> str:
    state = {k: v for k, v in model.state_dict().items() if not drop(k)}
    torch.save(dict(state_dict=state, meta={}), path)
    return str(path)


def test_index_keys_are_the_integer_buffers():
    init_default_scope('mmpretrain')
    model = MODELS.build(
        dict(
            type='mmpretrain.BEiTViT',
            arch=dict(
                embed_dims=32,
                num_layers=2,
                num_heads=2,
                feedforward_channels=64),
            img_size=32,
            patch_size=16,
            use_abs_pos_emb=False,
            use_rel_pos_bias=True))
    assert index_keys(model) == {
        f'layers.{i}.attn.relative_position_index'
        for i in range(2)
    }
    assert index_keys(torch.nn.BatchNorm1d(3)) == {'num_batches_tracked'}


@pytest.mark.parametrize('api', ['load_checkpoint', 'init_model'])
def test_a_full_checkpoint_without_the_index_buffers_loads(tmp_path, api):
    config = _config(tmp_path)
    source = _trained(config)
    path = _save(source, tmp_path / 'full.pth',
                 lambda k: 'relative_position_index' in k)
    if api == 'init_model':
        model, _ = init_model(config, path)
    else:
        model = MODELS.build(Config.fromfile(config).model)
        load_checkpoint(model, path, map_location='cpu', strict=False)
    own = model.state_dict()
    for key, value in source.state_dict().items():
        assert torch.equal(own[key], value), key
    image = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.eval()(image, mode='tensor'),
                           source(image, mode='tensor'))


def test_a_full_checkpoint_without_a_bias_table_is_still_refused(tmp_path):
    config = _config(tmp_path)
    # The wrapper keeps the host's state-dict keys under 'backbone.'.
    table = 'backbone.layers.1.attn.relative_position_bias_table'
    path = _save(
        _trained(config), tmp_path / 'holes.pth',
        lambda k: k == table or 'relative_position_index' in k)
    model = MODELS.build(Config.fromfile(config).model)
    with pytest.raises(StateDictMismatchError) as info:
        load_checkpoint(model, path, map_location='cpu', strict=False)
    message = str(info.value)
    assert 'lacks 1 of them: ' + table + '.' in message, message
    assert 'relative_position_index' not in message, message
