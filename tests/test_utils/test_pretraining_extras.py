# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which keys of a pre-training file the pretrained check lets MMEngine
leave behind: the final norm and tokens that a fine-tuning layout lacks
(mmpretrain's MAE and BEiT recipes), named in the log; nothing else.

Through MMEngine's ``init_weights`` of AdaptFormer around mmpretrain's
``VisionTransformer`` built as the MAE fine-tuning config builds it
(``final_norm=False, out_type='avg_featmap'``).
"""
import logging

import pytest
import torch
from mmengine.registry import MODELS, init_default_scope

import mmadaptformer  # noqa: F401 (registers AdaptFormer)
from mmadaptformer.utils.pretraining_extras import pretraining_extras
from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _vit(layers: int = 2, **kwargs) -> dict:
    return dict(
        type='mmpretrain.VisionTransformer',
        arch=dict(
            embed_dims=32,
            num_layers=layers,
            num_heads=2,
            feedforward_channels=64),
        img_size=32,
        patch_size=16,
        **kwargs)


def _pretraining_file(path, layers: int = 2, extra=None) -> dict:
    """An MAE-style encoder file: the ViT with its final norm ``ln1``."""
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    encoder = MODELS.build(_vit(layers, final_norm=True))
    encoder.init_weights()
    state = dict(encoder.state_dict(), **(extra or {}))
    torch.save(
        dict(state_dict={f'backbone.{k}': v
                         for k, v in state.items()}), path)
    return state


def _build_from(path, **layout) -> torch.nn.Module:
    host = _vit(
        **(layout or dict(out_type='avg_featmap', final_norm=False)),
        init_cfg=dict(
            type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    model = MODELS.build(
        dict(type='AdaptFormer', backbone=host, adapter=dict(bottleneck=8)))
    model.init_weights()
    return model.backbone


def test_the_final_norm_and_a_token_are_left_and_logged(tmp_path, log_records):
    path = tmp_path / 'mae.pth'
    token = torch.randn(1, 1, 32)
    source = _pretraining_file(path, extra=dict(mask_token=token))
    host = _build_from(path)
    own = host.state_dict()
    assert 'ln1.weight' not in own and 'mask_token' not in own
    compared = [k for k in source if k in own]
    assert len(compared) == len(source) - 3
    for key in compared:
        assert torch.equal(own[key], source[key]), key
    # The fine-tuning layout's fresh norm starts as the identity.
    assert torch.equal(own['ln2.weight'], torch.ones(32))
    logged = '\n'.join(r.getMessage() for r in log_records
                       if r.levelno >= logging.WARNING)
    assert 'ignoring 3 allowed unexpected keys: ln1.weight, ln1.bias, ' \
        'mask_token' in logged, logged


def test_what_lies_beside_a_complete_backbone_is_left(tmp_path, log_records):
    """MFF-style: tensors this backbone has no attribute for (projection
    layers, a token of another width, an embedding), beside every tensor
    the model has: left, and named in the log."""
    path = tmp_path / 'beside.pth'
    source = _pretraining_file(
        path,
        extra={
            'proj_layers.0.weight': torch.ones(32, 32),
            'proj_weights': torch.ones(3, 1, 1, 1),
            'mask_token': torch.zeros(1, 1, 48),
        })
    own = _build_from(path).state_dict()
    for key in source:
        if key in own:
            assert torch.equal(own[key], source[key]), key
    logged = '\n'.join(r.getMessage() for r in log_records
                       if r.levelno >= logging.WARNING)
    assert 'ignoring 5 allowed unexpected keys: ln1.weight, ln1.bias, ' \
        'proj_layers.0.weight, proj_weights, mask_token' in logged, logged


def test_what_lies_beside_an_incomplete_backbone_is_named(tmp_path):
    """The same beside a file that lacks one of the model's tensors: both
    named."""
    path = tmp_path / 'holes.pth'
    source = _pretraining_file(
        path, extra={'proj_layers.0.weight': torch.ones(32, 32)})
    state = torch.load(path)['state_dict']
    del state['backbone.layers.1.ffn.layers.1.bias']
    torch.save(dict(state_dict=state), path)
    assert 'layers.1.ffn.layers.1.bias' in source
    with pytest.raises(StateDictMismatchError) as info:
        _build_from(path)
    message = str(info.value)
    assert '1 missing keys (in the model, not in the checkpoint): ' \
        'layers.1.ffn.layers.1.bias' in message, message
    assert '1 unexpected keys (in the checkpoint, not in the model): ' \
        'proj_layers.0.weight' in message, message


@pytest.mark.parametrize('key', ['pre_norm.inner.weight'])
def test_a_tensor_under_a_module_the_model_has_is_refused(tmp_path, key):
    path = tmp_path / 'other.pth'
    _pretraining_file(path, extra={key: torch.ones(32)})
    with pytest.raises(StateDictMismatchError) as info:
        _build_from(path)
    message = str(info.value)
    assert f'1 unexpected keys (in the checkpoint, not in the model): ' \
        f'{key}\n' in message + '\n', message


@pytest.mark.parametrize(
    'layout, extra, named',
    [
        # The class token's features with no final norm: the file's ln1
        # has no fresh norm in its place.
        (dict(out_type='cls_token', final_norm=False), {}, 'ln1.weight, '
         'ln1.bias'),
        # A CLIP-style pre-norm on a model without one.
        (dict(out_type='cls_token', final_norm=True), {
            'pre_norm.weight': torch.ones(32),
            'pre_norm.bias': torch.zeros(32)
        }, 'pre_norm.weight, pre_norm.bias'),
    ],
    ids=['no_fresh_norm', 'pre_norm'])
def test_a_norm_with_nothing_in_its_place_is_still_refused(
        tmp_path, layout, extra, named):
    path = tmp_path / 'layout.pth'
    _pretraining_file(path, extra=extra)
    with pytest.raises(StateDictMismatchError) as info:
        _build_from(path, **layout)
    message = str(info.value)
    assert f'2 unexpected keys (in the checkpoint, not in the model): ' \
        f'{named}\n' in message + '\n', message


def test_a_deeper_file_is_still_refused(tmp_path):
    """A file of three blocks for a model of two: its third block's keys
    are named, the final norm left out of the list."""
    path = tmp_path / 'deeper.pth'
    _pretraining_file(path, layers=3)
    with pytest.raises(StateDictMismatchError) as info:
        _build_from(path)
    message = str(info.value)
    listed = message.split('12 unexpected keys (in the checkpoint, not in '
                           'the model): ')[1].split('\n')[0].split(', ')
    assert all(key.startswith('layers.2.') for key in listed), listed


def test_pretraining_extras_drops_a_ddp_prefix():
    init_default_scope('mmpretrain')
    model = MODELS.build(_vit(out_type='avg_featmap', final_norm=False))
    state = {
        'module.ln1.weight': torch.ones(32),
        'module.layers.0.ln1.weight': torch.ones(32),
        'module.cls_token': torch.zeros(1, 1, 32),
        'ln1.extra.weight': torch.ones(32),
    }
    assert pretraining_extras(model, state) == ['ln1.weight']
