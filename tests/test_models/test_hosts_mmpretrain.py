# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdaptFormer on more mmpretrain hosts: BEiT (v1 and v2), EVA-02, Swin
Transformer V2, SAM's ViT, HiViT, MixMIM, Twins (PCPVT, SVT), MViTv2,
T2T-ViT, DaViT, TinyViT and XCiT.

Each host's block is checked against the AdaptFormer formula in train mode
with drop path on, and each backbone is built from its real mmpretrain
config with tiny overrides."""

import pytest
import torch
from block_builders import (BlockCase, assert_block_follows_the_formula,
                            assert_zero_adapters_keep_the_host, beit_block,
                            ffn_branch, flat_outputs, mmpretrain_backbone_cfg,
                            stock_and_adapted)
from helpers import TINY_IMAGE_CONFIG, assert_host_loads_pretrained
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint
from mmpretrain.models.backbones.davit import ChannelBlock, SpatialBlock
from mmpretrain.models.backbones.hivit import BlockWithRPE
from mmpretrain.models.backbones.mixmim import MixMIMBlock
from mmpretrain.models.backbones.mvit import MultiScaleBlock, attention_pool
from mmpretrain.models.backbones.swin_transformer_v2 import SwinBlockV2
from mmpretrain.models.backbones.t2t_vit import T2TTransformerLayer
from mmpretrain.models.backbones.tinyvit import TinyViTBlock
from mmpretrain.models.backbones.twins import GSAEncoderLayer, LSAEncoderLayer
from mmpretrain.models.backbones.vit_eva02 import EVA02EndcoderLayer
from mmpretrain.models.backbones.vit_sam import \
    TransformerEncoderLayer as SAMBlock
from mmpretrain.models.backbones.vit_sam import (window_partition,
                                                 window_unpartition)
from mmpretrain.models.backbones.xcit import XCABlock
from mmpretrain.models.utils import RotaryEmbeddingFast
from mmpretrain.structures import DataSample

from mmadaptformer.engine import make_adapter_checkpoint
from mmadaptformer.models import (FROZEN_HOST_KEY, AdaptFormer,
                                  adapter_parameter_names, apply_trainable,
                                  plan_trainable)
from mmadaptformer.utils import safe_torch_load
from mmadaptformer.utils.fingerprint import state_fingerprints

DIMS = 32


def _beit():
    return beit_block(DIMS)


def _beit_by_hand(blk, x):
    x = x + blk.drop_path(
        blk.gamma_1 * blk.attn(blk.ln1(x), rel_pos_bias=None))
    # The FFN's own DropPath and then the block's: dropped twice upstream.
    return x, blk.drop_path(blk.gamma_2 * blk.ffn(blk.ln2(x)))


def _eva02():
    rope = RotaryEmbeddingFast(embed_dims=DIMS // 2, patch_resolution=(2, 2))
    return EVA02EndcoderLayer(
        DIMS, 2, 64, sub_ln=True, drop_path_rate=0.5, rope=rope)


def _eva02_by_hand(blk, x):
    x = x + blk.drop_path(blk.attn(blk.norm1(x), (2, 2)))
    return x, blk.drop_path(blk.mlp(blk.norm2(x)))


def _swinv2(extra_norm=False):
    return SwinBlockV2(
        DIMS,
        2,
        window_size=2,
        shift=True,
        extra_norm=extra_norm,
        drop_path=0.5)


def _swinv2_by_hand(blk, x):
    # Post-norm; the FFN's DropPath comes before norm2 upstream.
    x = x + blk.norm1(blk.attn(x, (4, 4)))
    return x, blk.norm2(blk.ffn(x))


def _sam():
    return SAMBlock(
        DIMS, 2, 64, drop_path_rate=0.5, use_rel_pos=True, window_size=2)


def _sam_by_hand(blk, x):
    windows, pad_hw = window_partition(blk.ln1(x), 2)
    x = x + window_unpartition(blk.attn(windows), 2, pad_hw, (4, 4))
    return x, ffn_branch(blk.ffn, blk.ln2(x))


def _hivit(num_heads=2):
    return BlockWithRPE(
        2,
        DIMS,
        num_heads,
        mlp_ratio=3.,
        drop_path=0.5,
        rpe=True,
        layer_scale_init_value=0.1)


def _hivit_by_hand(blk, x):
    if blk.attn is not None:
        x = x + blk.drop_path(blk.gamma_1 * blk.attn(blk.norm1(x), True, None))
    return x, blk.drop_path(blk.gamma_2 * blk.mlp(blk.norm2(x)))


def _mixmim():
    return MixMIMBlock(
        DIMS, (4, 4), 2, window_size=2, mlp_ratio=2., drop_path_rate=0.5)


def _mixmim_by_hand(blk, x):
    B, _, C = x.shape
    windows = blk.window_partition(blk.ln1(x).view(B, 4, 4, C), 2)
    windows = blk.attn(windows.view(-1, 4, C), mask=None)
    y = blk.window_reverse(windows.view(-1, 2, 2, C), 4, 4, 2)
    x = x + blk.drop_path(y.view(B, 16, C))
    return x, ffn_branch(blk.ffn, blk.ln2(x))


def _twins_by_hand(blk, x):
    x = x + blk.drop_path(blk.attn(blk.norm1(x), (4, 4)))
    # The FFN's own DropPath and then the block's: dropped twice upstream.
    return x, blk.drop_path(blk.ffn(blk.norm2(x)))


def _mvit(out_dims=DIMS, stride_q=1):
    return MultiScaleBlock(
        DIMS,
        out_dims,
        2,
        mlp_ratio=2.,
        drop_path=0.5,
        stride_q=stride_q,
        input_size=(4, 4))


def _mvit_by_hand(blk, x):
    x_norm = blk.norm1(x)
    x_attn, _ = blk.attn(x_norm, (4, 4))
    skip = x if blk.proj is None else blk.proj(x_norm)
    if blk.pool_skip is not None:
        skip, _ = attention_pool(skip, blk.pool_skip, (4, 4))
    x = skip + blk.drop_path(x_attn)
    return x, blk.drop_path(blk.mlp(blk.norm2(x)))


def _t2t_by_hand(blk, x):
    if blk.v_shortcut:
        x = blk.attn(blk.ln1(x))
    else:
        x = x + blk.attn(blk.ln1(x))
    return x, ffn_branch(blk.ffn, blk.ln2(x))


def _davit_by_hand(blk, x):
    # The identities are the outputs of the position encodings.
    x = blk.cpe1(x, (4, 4))
    if isinstance(blk, SpatialBlock):
        x = x + blk.attn(blk.norm1(x), (4, 4))
    else:
        x = x + blk.attn(blk.norm1(x))
    x = blk.cpe2(x, (4, 4))
    return x, ffn_branch(blk.ffn, blk.norm2(x))


def _tinyvit_by_hand(blk, x):
    # One window covers the 2x2 map, so the attention is not partitioned.
    B, L, C = x.shape
    x = x + blk.drop_path(blk.attn(x))
    x = blk.local_conv(x.transpose(1, 2).reshape(B, C, 2, 2))
    x = x.view(B, C, L).transpose(1, 2)
    return x, blk.drop_path(blk.mlp(x))


def _xcit_by_hand(blk, x):
    x = x + blk.drop_path(blk.gamma1 * blk.attn(blk.norm1(x)))
    x = x + blk.drop_path(blk.gamma3 * blk.local_mp(blk.norm3(x), 4, 4))
    return x, blk.drop_path(blk.gamma2 * blk.ffn(blk.norm2(x), identity=0))


BLOCKS = {
    'beit':
    BlockCase(_beit, _beit_by_hand, (8, 5, DIMS), dict(rel_pos_bias=None)),
    'eva02':
    BlockCase(_eva02, _eva02_by_hand, (8, 5, DIMS),
              dict(patch_resolution=(2, 2))),
    'swinv2':
    BlockCase(_swinv2, _swinv2_by_hand, (8, 16, DIMS), dict(hw_shape=(4, 4))),
    'swinv2-extra-norm':
    BlockCase(lambda: _swinv2(extra_norm=True), _swinv2_by_hand, (8, 16, DIMS),
              dict(hw_shape=(4, 4)), lambda blk, x: blk.norm3(x)),
    'sam':
    BlockCase(_sam, _sam_by_hand, (8, 4, 4, DIMS)),
    'hivit':
    BlockCase(_hivit, _hivit_by_hand, (8, 4, DIMS), dict(rpe_index=True)),
    # The MLP-only stem blocks, on (B, N, k, k, C) inner patches.
    'hivit-stem':
    BlockCase(lambda: _hivit(num_heads=0), _hivit_by_hand, (8, 4, 2, 2, DIMS)),
    'mixmim':
    BlockCase(_mixmim, _mixmim_by_hand, (8, 16, DIMS), dict(attn_mask=None)),
    'twins-gsa':
    BlockCase(
        lambda: GSAEncoderLayer(DIMS, 2, 64, drop_path_rate=0.5, sr_ratio=2),
        _twins_by_hand, (8, 16, DIMS), dict(hw_shape=(4, 4))),
    'twins-lsa':
    BlockCase(
        lambda: LSAEncoderLayer(
            DIMS, 2, 64, drop_path_rate=0.5, window_size=2), _twins_by_hand,
        (8, 16, DIMS), dict(hw_shape=(4, 4))),
    'mvit':
    BlockCase(
        _mvit,
        _mvit_by_hand, (8, 16, DIMS),
        dict(in_size=(4, 4)),
        output=lambda out: out[0]),
    't2t':
    BlockCase(lambda: T2TTransformerLayer(DIMS, 2, 64, drop_path_rate=0.5),
              _t2t_by_hand, (8, 5, DIMS)),
    # A tokens-to-token layer: its attention widens 48 to DIMS channels,
    # with a shortcut from the values.
    't2t-tokens':
    BlockCase(
        lambda: T2TTransformerLayer(
            DIMS, 1, 64, input_dims=48, drop_path_rate=0.5), _t2t_by_hand,
        (8, 5, 48)),
    # A stage's first block: pools the queries and widens in attention.
    'mvit-downscale':
    BlockCase(
        lambda: _mvit(out_dims=2 * DIMS, stride_q=2),
        _mvit_by_hand, (8, 16, DIMS),
        dict(in_size=(4, 4)),
        output=lambda out: out[0]),
    'davit-spatial':
    BlockCase(lambda: SpatialBlock(DIMS, 2, window_size=2, drop_path=0.5),
              _davit_by_hand, (8, 16, DIMS), dict(hw_shape=(4, 4))),
    'davit-channel':
    BlockCase(lambda: ChannelBlock(DIMS, 2, drop_path=0.5), _davit_by_hand,
              (8, 16, DIMS), dict(hw_shape=(4, 4))),
    # Layer scale (0.5) outside the FFN, drop path shared by three branches.
    'xcit':
    BlockCase(
        lambda: XCABlock(
            DIMS, 2, mlp_ratio=2., drop_path=0.5, layer_scale_init_value=0.5),
        _xcit_by_hand, (8, 16, DIMS), dict(H=4, W=4)),
    'tinyvit':
    BlockCase(
        lambda: TinyViTBlock(
            DIMS, (2, 2), 2, window_size=2, mlp_ratio=2., drop_path=0.5),
        _tinyvit_by_hand, (8, 4, DIMS)),
}


@pytest.mark.parametrize('placement', ['parallel', 'sequential'])
@pytest.mark.parametrize('host', BLOCKS)
def test_block_output_matches_the_formula_in_train_mode(
        host, placement, randomize_adapters, adaptmlp_by_hand):
    assert_block_follows_the_formula(BLOCKS[host], placement,
                                     randomize_adapters, adaptmlp_by_hand)


# --- whole backbones from mmpretrain's own configs -------------------------
TINY_VIT = dict(embed_dims=32, num_layers=2, num_heads=2)
TWINS = dict(
    embed_dims=[16, 32, 32, 64],
    num_heads=[1, 1, 2, 2],
    patch_sizes=[4, 2, 2, 2],
    strides=[4, 2, 2, 2],
    mlp_ratios=[2, 2, 2, 2],
    sr_ratios=[4, 2, 1, 1])
# name: (config, backbone type, overrides, input size, adapted blocks)
BACKBONES = {
    'beit': ('beit/benchmarks/beit-base-p16_8xb64_in1k.py', 'BEiTViT',
             dict(arch=dict(TINY_VIT, feedforward_channels=64),
                  img_size=32), 32, [f'layers.{i}' for i in range(2)]),
    'beitv2': ('beitv2/benchmarks/beit-base-p16_8xb64_in1k.py', 'BEiTViT',
               dict(arch=dict(TINY_VIT, feedforward_channels=64),
                    img_size=32), 32, [f'layers.{i}' for i in range(2)]),
    'eva02': ('eva02/eva02-tiny-p14_in1k.py', 'ViTEVA02',
              dict(arch=dict(TINY_VIT, feedforward_channels=64),
                   img_size=28), 28, [f'layers.{i}' for i in range(2)]),
    # Two blocks in stage 3 with an extra norm after the second, as in the
    # huge and giant archs.
    'swinv2':
    ('swin_transformer_v2/swinv2-tiny-w8_16xb64_in1k-256px.py',
     'SwinTransformerV2',
     dict(
         arch=dict(
             embed_dims=16,
             depths=[1, 1, 2, 1],
             num_heads=[1, 1, 2, 2],
             extra_norm_every_n_blocks=2),
         img_size=64,
         window_size=[2, 2, 2, 2]), 64, [
             'stages.0.blocks.0', 'stages.1.blocks.0', 'stages.2.blocks.0',
             'stages.2.blocks.1', 'stages.3.blocks.0'
         ]),
    # Windowed attention in block 0, global attention in block 1.
    'sam':
    ('sam/vit-base-p16_sam_headless.py', 'ViTSAM',
     dict(
         arch=dict(TINY_VIT, feedforward_channels=64, global_attn_indexes=[1]),
         img_size=64,
         window_size=2,
         out_channels=16), 64, [f'layers.{i}' for i in range(2)]),
    # Stem: 2 + 2 MLP-only blocks around PatchMerges (blocks 2 and 5). The
    # main stage has 7 blocks: HiViT reads its out index (the last main
    # block) in the stem loop too, which must not reach it.
    'hivit': ('hivit/hivit-tiny-p16_16xb64_in1k.py', 'HiViT',
              dict(
                  arch=dict(embed_dims=32, depths=[1, 1, 7], num_heads=2),
                  img_size=32), 32,
              [f'blocks.{i}' for i in (0, 1, 3, 4, *range(6, 13))]),
    'mixmim':
    ('mixmim/benchmarks/mixmim-base_8xb64_in1k.py', 'MixMIMTransformer',
     dict(
         arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2]),
         img_size=32,
         window_size=[2] * 4), 32, [f'layers.{i}.blocks.0' for i in range(4)]),
    'pcpvt': ('twins/twins-pcpvt-small_8xb128_in1k.py', 'PCPVT',
              dict(arch=dict(TWINS, depths=[1, 1, 1, 1])), 32,
              [f'stages.{i}.0' for i in range(4)]),
    # One block before and two after a downscale (the first of them pools
    # and widens in attention).
    'mvit': ('mvit/mvitv2-tiny_8xb256_in1k.py', 'MViT',
             dict(
                 arch=dict(
                     embed_dims=16,
                     num_layers=3,
                     num_heads=1,
                     downscale_indices=[1]),
                 img_size=32), 32, [f'blocks.{i}' for i in range(3)]),
    't2t': ('t2t_vit/t2t-vit-t-14_8xb64_in1k.py', 'T2T_ViT',
            dict(
                embed_dims=32,
                num_layers=2,
                t2t_cfg=dict(token_dims=16),
                layer_cfgs=dict(num_heads=2, feedforward_channels=64),
                img_size=32), 32, [
                    'tokens_to_token.attention1', 'tokens_to_token.attention2',
                    'encoder.0', 'encoder.1'
                ]),
    # A spatial and a channel attention block in each DaViTBlock.
    'davit':
    ('davit/davit-tiny_4xb256_in1k.py', 'DaViT',
     dict(
         arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2]),
         window_size=2), 64, [
             f'stages.{i}.blocks.0.{kind}_block' for i in range(4)
             for kind in ('spatial', 'channel')
         ]),
    # A convolution stage (no adapters), then three attention stages.
    'tinyvit': ('tinyvit/tinyvit-5m_8xb256_in1k.py', 'TinyViT',
                dict(
                    arch=dict(
                        channels=[16, 32, 32, 32],
                        num_heads=[1, 2, 2, 2],
                        depths=[1, 1, 1, 1]),
                    img_size=(64, 64),
                    window_size=[2, 2, 2, 2]), 64,
                [f'stages.{i}.blocks.0' for i in (1, 2, 3)]),
    # Two cross-covariance blocks, then the class-attention blocks (no
    # adapters).
    'xcit': ('xcit/xcit-nano-12-p16_8xb128_in1k.py', 'XCiT',
             dict(embed_dims=32, depth=2, num_heads=2,
                  cls_attn_layers=1), 32, ['xca_layers.0', 'xca_layers.1']),
    # Locally grouped (even) and global sub-sampled (odd) layers.
    'svt':
    ('twins/twins-svt-small_8xb128_in1k.py', 'SVT',
     dict(arch=dict(TWINS, depths=[2, 2, 1, 1], window_sizes=[2, 2, 2, 1])),
     32, [
         'stages.0.0', 'stages.0.1', 'stages.1.0', 'stages.1.1', 'stages.2.0',
         'stages.3.0'
     ]),
}


def _backbone_cfg(host):
    path, type_, overrides, _, _ = BACKBONES[host]
    return mmpretrain_backbone_cfg(path, type_, overrides)


@pytest.mark.parametrize('host', BACKBONES)
def test_zero_init_keeps_stock_outputs_and_keys_and_only_adapters_train(
        host, freeze_all_but_adapters):
    _, _, _, size, blocks = BACKBONES[host]
    stock, model = stock_and_adapted(_backbone_cfg(host))
    # Every block of these types got one adapter.
    block_types = {type(model.backbone.get_submodule(b)) for b in blocks}
    assert [
        name for name, m in model.backbone.named_modules()
        if type(m) in block_types
    ] == blocks
    x = torch.randn(1, 3, size, size)
    assert_zero_adapters_keep_the_host(model, stock, blocks, x,
                                       freeze_all_but_adapters)


def test_mvit_blocks_that_widen_in_the_mlp_are_refused():
    """mvitv2-large widens in the MLP (``dim_mul_in_attention=False``): the
    block before a downscale has no ``x + h`` of one width to adapt."""
    cfg = get_config('mmpretrain::mvit/mvitv2-large_8xb256_in1k.py')
    cfg = cfg.model.backbone.to_dict()
    assert cfg['dim_mul_in_attention'] is False
    cfg.update(BACKBONES['mvit'][2], type='mmpretrain.MViT')
    with pytest.raises(
            ValueError,
            match=r"Block 'blocks.0' \(MultiScaleBlock\) cannot be adapted: "
            r"its feed-forward network 'mlp' maps 16 to 32 channels.*"
            r'layers=\[1, 2\]'):
        AdaptFormer(backbone=cfg)
    torch.manual_seed(0)
    stock = MODELS.build(cfg)
    stock.init_weights()
    stock.eval()
    model = AdaptFormer(backbone=cfg, layers=[1, 2]).eval()
    model.load_state_dict(stock.state_dict(), strict=False)
    assert model.adapted_blocks == ['blocks.1', 'blocks.2']
    x = torch.randn(1, 3, 32, 32)
    assert torch.equal(flat_outputs(model(x)), flat_outputs(stock(x)))


# --- one host end to end: train, save adapter-only, load ------------------
def test_beit_trains_and_reloads_from_an_adapter_only_checkpoint(tmp_path):
    """The AdapterHook's plan and checkpoint format, without a Runner."""
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(TINY_IMAGE_CONFIG).model
    cfg.update(backbone=_backbone_cfg('beit'), head=dict(in_channels=32))
    torch.manual_seed(0)
    stock = MODELS.build(cfg)
    stock.init_weights()
    pretrained = str(tmp_path / 'stock.pth')
    torch.save(dict(state_dict=stock.state_dict(), meta={}), pretrained)
    cfg.backbone = dict(
        type='AdaptFormer',
        backbone=dict(
            cfg.backbone,
            init_cfg=dict(
                type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
        adapter=dict(bottleneck=8))

    def build():
        model = MODELS.build(cfg)
        model.init_weights()  # loads the host lazily
        return model

    torch.manual_seed(1)
    model = build()
    plan = plan_trainable(model)
    # The wrapper saves its host's keys without its own ``backbone.``.
    adapter_keys = {
        f'backbone.{k}'
        for k in adapter_parameter_names(model.backbone.backbone)
    }
    assert set(plan.groups['adapters']) == adapter_keys
    assert len(adapter_keys) == 8
    apply_trainable(model, plan)
    frozen = state_fingerprints((k, v) for k, v in model.state_dict().items()
                                if k in set(plan.frozen_keys))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=1.)
    inputs = torch.randn(2, 3, 32, 32)
    samples = [DataSample().set_gt_label(i) for i in (0, 1)]
    for _ in range(2):
        optimizer.zero_grad()
        model(inputs, samples, mode='loss')['loss'].backward()
        optimizer.step()
    # Only the adapters and the head trained; the host is the stock one.
    state = model.state_dict()
    changed = {k for k, v in before.items() if not torch.equal(state[k], v)}
    assert changed <= set(plan.trainable_keys)
    # The zero up-projections move first (down_proj's first updates can be
    # below float32 resolution).
    assert {k for k in adapter_keys if 'up_proj' in k} < changed
    assert set(plan.trainable_keys) == adapter_keys | {
        'head.fc.weight', 'head.fc.bias'
    }
    for key, value in stock.state_dict().items():
        if key.startswith('backbone.'):
            assert torch.equal(state[key], value), key

    path = str(tmp_path / 'adapters.pth')
    torch.save(
        make_adapter_checkpoint(
            dict(state_dict=model.state_dict(), meta={}),
            plan,
            frozen,
            model=model), path)
    saved = safe_torch_load(path)['state_dict']
    assert {k for k in saved if k.startswith('backbone.')} == \
        adapter_keys | {f'backbone.{FROZEN_HOST_KEY}'}

    torch.manual_seed(2)
    reloaded = build()
    load_checkpoint(reloaded, path, strict=True)
    model.eval()
    reloaded.eval()
    with torch.no_grad():
        assert torch.equal(
            reloaded(inputs, mode='tensor'), model(inputs, mode='tensor'))


@pytest.mark.parametrize('host', BACKBONES)
def test_pretrained_init_cfg_loads_the_host(host, tmp_path):
    """A checkpoint of the host loads through the wrapper's init_cfg (Swin
    V2 deletes its relative position tables from every state dict it
    loads; they are not missing)."""
    assert_host_loads_pretrained(_backbone_cfg(host), tmp_path)


def test_layer_wise_lr_decay_sees_the_host_layers():
    """mmpretrain's layer-decay optimizer (the BEiT recipes) asks the
    backbone for each parameter's depth with the names of
    ``named_parameters()``; under the wrapper they are the host's, so the
    adapters and frozen tensors of layer i get layer i's lr scale."""
    from mmpretrain.engine.optimizers import \
        LearningRateDecayOptimWrapperConstructor
    init_default_scope('mmpretrain')
    cfg = _backbone_cfg('beit')
    classifier = dict(
        type='ImageClassifier',
        head=dict(
            type='LinearClsHead',
            num_classes=2,
            in_channels=32,
            loss=dict(type='CrossEntropyLoss')))
    stock = MODELS.build(dict(classifier, backbone=cfg))
    model = MODELS.build(
        dict(classifier, backbone=dict(type='AdaptFormer', backbone=cfg)))
    constructor = LearningRateDecayOptimWrapperConstructor(
        dict(
            type='OptimWrapper',
            optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05)),
        dict(layer_decay_rate=0.5))

    def scales(net):
        groups = constructor(net).optimizer.param_groups
        return {g['param_name']: g['lr_scale'] for g in groups}

    ours, theirs = scales(model), scales(stock)
    for name, scale in theirs.items():
        assert ours[name.replace('backbone.', 'backbone.backbone.',
                                 1)] == scale, name
    assert ours['backbone.backbone.layers.0.adaptmlp.up_proj.weight'] \
        == theirs['backbone.layers.0.ffn.layers.1.weight'] \
        == 0.5 * ours['backbone.backbone.layers.1.adaptmlp.up_proj.weight']
