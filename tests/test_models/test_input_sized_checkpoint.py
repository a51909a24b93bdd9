# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdaptFormer on EVA-02 takes a checkpoint of another input size, as the
stock EVA-02 does.

EVA-02's rotary embedding keeps ``freqs_cos``/``freqs_sin`` buffers computed
for the input size it is built for, so a checkpoint of another size (EVA-02
fine-tuned at 448 px from its 224 px pre-training) holds them in other
shapes. The stock model loads it: MMEngine's non-strict load skips them and
keeps its own, and mmpretrain resizes the position embedding. AdaptFormer's
check refused it as "saved from another architecture", naming those buffers
as shape mismatches.
"""
import pytest
import torch
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint

from mmadaptformer.utils.state_dict_check import check_state_dict

ROPE = ('rope.freqs_cos', 'rope.freqs_sin', 'layers.1.attn.rope.freqs_cos')


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmpretrain')


def _eva02(size: int) -> dict:
    """A two-layer EVA-02 for ``size`` px (patch 14: a 2 x 2 grid at 28 px,
    3 x 3 at 42 px)."""
    return dict(
        type='mmpretrain.ViTEVA02',
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
        img_size=size,
        patch_size=14)


def _saved(tmp_path, prefix: str = 'backbone.') -> str:
    """A 28 px EVA-02's state dict (seed 0), its keys behind ``prefix``."""
    torch.manual_seed(0)
    stock = MODELS.build(_eva02(28))
    stock.init_weights()
    path = str(tmp_path / 'eva02_28px.pth')
    torch.save(
        dict(
            state_dict={prefix + k: v
                        for k, v in stock.state_dict().items()},
            meta={}), path)
    return path


def _assert_rope_for_42px(state: dict) -> None:
    """The rotary tables are the model's own, for its 3 x 3 grid."""
    fresh = MODELS.build(_eva02(42)).state_dict()
    for key in ROPE:
        assert state[key].shape == (9, 16), key
        assert torch.equal(state[key], fresh[key]), key


@pytest.mark.parametrize(
    'wrapped', [False, True], ids=['EVA-02', 'AdaptFormer'])
def test_eva02_takes_a_pretrained_checkpoint_of_another_input_size(
        tmp_path, wrapped):
    """Through MMEngine's ``init_weights``: EVA-02 built for 42 px with
    ``init_cfg=Pretrained`` of a 28 px model, alone and as the host of
    AdaptFormer, loads it, with the same weights."""
    path = _saved(tmp_path)

    def built(wrap: bool) -> dict:
        host = dict(
            _eva02(42),
            init_cfg=dict(
                type='Pretrained', checkpoint=path, prefix='backbone.'))
        cfg = dict(
            type='AdaptFormer', backbone=host, adapter=dict(
                bottleneck=8)) if wrap else host
        torch.manual_seed(1)
        model = MODELS.build(cfg)
        model.init_weights()
        return (model.backbone if wrap else model).state_dict()

    state = built(wrapped)
    reference = built(False)
    for key, value in reference.items():
        assert torch.equal(state[key], value), key
    # The position embedding is resized from the checkpoint's.
    assert state['pos_embed'].shape == (1, 10, 32)
    _assert_rope_for_42px(state)


def test_a_full_adaptformer_checkpoint_of_another_input_size_fits(tmp_path):
    """The check before ``load_from`` (a whole model's state dict) and
    MMEngine's ``load_checkpoint`` agree: it fits, and the rotary tables
    stay the model's."""
    torch.manual_seed(0)
    small = MODELS.build(
        dict(
            type='AdaptFormer',
            backbone=_eva02(28),
            adapter=dict(bottleneck=8, init='trunc_normal')))
    small.allow_random_backbone = True
    small.init_weights()
    model = MODELS.build(
        dict(
            type='AdaptFormer',
            backbone=_eva02(42),
            adapter=dict(bottleneck=8)))
    model.allow_random_backbone = True
    state_dict = small.state_dict()
    path = str(tmp_path / 'small.pth')
    torch.save(dict(state_dict=state_dict, meta={}), path)
    check_state_dict(model, state_dict, source=path)
    load_checkpoint(model, path, map_location='cpu')
    own = model.state_dict()
    adapter = 'layers.1.adaptmlp.up_proj.weight'
    assert torch.equal(own[adapter], state_dict[adapter])
    _assert_rope_for_42px(own)
