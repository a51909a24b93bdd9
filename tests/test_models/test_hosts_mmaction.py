# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The blocks of the MMAction2 video transformers beyond VideoMAE and Video
Swin: UniFormerV2, MViT, TimeSformer and UniFormer, each wired exactly.
The hosts built from MMAction2's configs: test_hosts_mmaction_configs.py."""
import copy

import pytest
import torch
from mmaction.models.backbones.mvit import MultiScaleBlock, attention_pool
from mmaction.models.backbones.uniformer import SABlock
from mmaction.models.backbones.uniformerv2 import ResidualAttentionBlock
from mmaction.models.common import FFNWithNorm
from mmcv.cnn.bricks.transformer import build_transformer_layer
from torch.testing import assert_close

from mmadaptformer.models import inject_adapters

DIMS = 32
T = 2


# Each block: (build it, call it on x and return its output as tokens,
# compute by hand from an un-hooked copy the post-attention stream x and the
# feed-forward branch h, drawing random numbers in the order the block
# does, input shape). Drop path is on, so the test tells whether the adapter
# is (wrongly) under it.
def _uniformerv2():
    # The local MHRAs on: drop_path runs three times before the FFN's.
    return ResidualAttentionBlock(
        DIMS, 2, drop_path=0.5, no_lmhra=False, double_lmhra=True)


def _uniformerv2_lmhra(blk, lmhra, x):
    tmp_x = x[1:, :, :]
    L, NT, C = tmp_x.shape
    N, H = NT // T, int(L**0.5)
    tmp_x = tmp_x.view(H, H, N, T, C).permute(2, 4, 3, 0, 1).contiguous()
    tmp_x = tmp_x + blk.drop_path(lmhra(tmp_x))
    tmp_x = tmp_x.view(N, C, T, L).permute(3, 0, 2,
                                           1).contiguous().view(L, NT, C)
    return torch.cat([x[:1, :, :], tmp_x], dim=0)


def _uniformerv2_by_hand(blk, x):
    x = _uniformerv2_lmhra(blk, blk.lmhra1, x)
    x = x + blk.drop_path(blk.attention(blk.ln_1(x)))
    x = _uniformerv2_lmhra(blk, blk.lmhra2, x)
    return x, blk.drop_path(blk.mlp(blk.ln_2(x)))


def _mvit():
    # A downscaling block: width doubled and queries pooled in attention.
    return MultiScaleBlock(
        DIMS // 2,
        DIMS,
        2,
        drop_path=0.5,
        stride_q=(1, 2, 2),
        input_size=(T, 4, 4))


def _mvit_by_hand(blk, x):
    x_norm = blk.norm1(x)
    x_attn, _ = blk.attn(x_norm, (T, 4, 4))
    skip, _ = attention_pool(
        blk.proj(x_norm), blk.pool_skip, (T, 4, 4), with_cls_token=True)
    x = skip + blk.drop_path(x_attn)
    return x, blk.drop_path(blk.mlp(blk.norm2(x)))


def _timesformer():
    return FFNWithNorm(
        embed_dims=DIMS,
        feedforward_channels=2 * DIMS,
        act_cfg=dict(type='GELU'),
        dropout_layer=dict(type='DropPath', drop_prob=0.5),
        layer_scale_init_value=0.1,
        norm_cfg=dict(type='LN', eps=1e-6))


def _timesformer_by_hand(blk, x):
    return x, blk.dropout_layer(blk.gamma2(blk.layers(blk.norm(x))))


def _uniformer():
    return SABlock(DIMS, 2, drop_path=0.5)


def _uniformer_by_hand(blk, x):
    x = x + blk.pos_embed(x)
    x = x.flatten(2).transpose(1, 2)
    x = x + blk.drop_path(blk.attn(blk.norm1(x)))
    return x, blk.drop_path(blk.mlp(blk.norm2(x)))


BLOCKS = {
    # (1 + HW, N * T, C): sequence first.
    'uniformerv2': (_uniformerv2, lambda blk, x: blk(x, T),
                    _uniformerv2_by_hand, (5, 4 * T, DIMS)),
    'mvit': (_mvit, lambda blk, x: blk(x, (T, 4, 4))[0], _mvit_by_hand,
             (8, 1 + T * 16, DIMS // 2)),
    'timesformer': (_timesformer, lambda blk, x: blk(x), _timesformer_by_hand,
                    (8, 1 + 4 * T, DIMS)),
    'uniformer': (_uniformer, lambda blk, x: blk(x).flatten(2).transpose(1, 2),
                  _uniformer_by_hand, (8, DIMS, T, 2, 2)),
}


@pytest.mark.parametrize('placement', ['parallel', 'sequential'])
@pytest.mark.parametrize('host', BLOCKS)
def test_block_output_matches_the_formula_in_train_mode(
        host, placement, randomize_adapters, adaptmlp_by_hand):
    build, call, by_hand, shape = BLOCKS[host]
    torch.manual_seed(0)
    block = build()
    stock = copy.deepcopy(block)
    assert inject_adapters(
        block, adapter=dict(bottleneck=8),
        placement=placement) == [type(block).__name__]
    randomize_adapters(block)
    x = torch.randn(shape)
    block.train()
    torch.manual_seed(1)
    out = call(block, x)

    torch.manual_seed(1)
    x1, h = by_hand(stock.train(), x)
    # Drop path dropped some rows and kept others.
    assert (h.flatten(1).abs().sum(1) == 0).any()
    assert (h.flatten(1).abs().sum(1) != 0).any()
    if placement == 'parallel':
        expected = x1 + h + adaptmlp_by_hand(block.adaptmlp, x1)
    else:
        expected = x1 + h + adaptmlp_by_hand(block.adaptmlp, h)
    assert_close(out, expected)
    torch.manual_seed(1)
    assert not torch.allclose(call(stock, x), out)


def test_space_only_timesformer_layers_are_declared_by_dotted_paths(
        randomize_adapters, adaptmlp_by_hand):
    """Space-only and joint space-time TimeSformer layers are mmcv's generic
    BaseTransformerLayer, whose norm before the FFN depends on its
    operation_order, so no wiring is claimed for them; a config declares it
    with paths into its norms and ffns lists."""
    torch.manual_seed(0)
    layer = build_transformer_layer(
        dict(
            type='BaseTransformerLayer',
            attn_cfgs=[
                dict(
                    type='MultiheadAttention',
                    embed_dims=DIMS,
                    num_heads=2,
                    batch_first=True,
                    dropout_layer=dict(type='DropPath', drop_prob=0.5))
            ],
            ffn_cfgs=dict(
                type='FFN',
                embed_dims=DIMS,
                feedforward_channels=2 * DIMS,
                act_cfg=dict(type='GELU'),
                dropout_layer=dict(type='DropPath', drop_prob=0.5)),
            operation_order=('norm', 'self_attn', 'norm', 'ffn'),
            norm_cfg=dict(type='LN', eps=1e-6),
            batch_first=True))
    with pytest.raises(
            ValueError,
            match=r'No transformer block.*e\.g\. block_types=\[dict\('
            r"type='BaseTransformerLayer', norm='norms\.1', ffn='ffns\.0'\)\]"
            r' for pre-norm layers'):
        inject_adapters(copy.deepcopy(layer))
    stock = copy.deepcopy(layer)
    inject_adapters(
        layer,
        block_types=[
            dict(type='BaseTransformerLayer', norm='norms.1', ffn='ffns.0')
        ])
    randomize_adapters(layer)
    x = torch.randn(8, 5, DIMS)
    torch.manual_seed(1)
    out = layer(x)
    torch.manual_seed(1)
    x1 = stock.attentions[0](stock.norms[0](x), identity=x)
    ffn = stock.ffns[0]
    h = ffn.dropout_layer(ffn.gamma2(ffn.layers(stock.norms[1](x1))))
    assert (h.flatten(1).abs().sum(1) == 0).any()
    assert_close(out, x1 + h + adaptmlp_by_hand(layer.adaptmlp, x1))
