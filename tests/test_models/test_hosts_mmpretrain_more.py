# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdaptFormer on TNT, LeViT, RevViT, Conformer and MobileViT.

As in ``test_hosts_mmpretrain.py``: each host's block is checked against
the AdaptFormer formula in train mode with drop path on, and each backbone
is built from its real mmpretrain config with tiny overrides. RevViT's
blocks are reversible: their formula, the exactness of the custom
backward with adapters, and the refusal of its inline drop path have tests
of their own."""
import copy

import pytest
import torch
from block_builders import (BlockCase, assert_block_follows_the_formula,
                            assert_zero_adapters_keep_the_host, ffn_branch,
                            mmpretrain_backbone_cfg, randomize_norms,
                            stock_and_adapted)
from helpers import assert_host_loads_pretrained
from mmengine.registry import MODELS
from mmpretrain.models.backbones.levit import MLP, Residual
from mmpretrain.models.backbones.mobilevit import MobileVitBlock
from mmpretrain.models.backbones.revvit import RevTransformerEncoderLayer
from mmpretrain.models.backbones.tnt import TransformerBlock
from torch.testing import assert_close

from mmadaptformer.models import (AdaptFormer, adapter_modules,
                                  adapter_parameter_names, inject_adapters,
                                  remove_adapters)

DIMS = 32
# LeViT's MLP normalises with BatchNorm1d.
NORMS = (torch.nn.LayerNorm, torch.nn.BatchNorm1d)


def _tnt_by_hand(blk, x):
    # The attention's identity and DropPath are inside ``attn``.
    x = blk.attn(blk.norm_attn(x), identity=x)
    return x, ffn_branch(blk.ffn, blk.norm_ffn(x))


def _levit_by_hand(blk, x):
    # The MLP is a Residual of its own: its input is the stream.
    return x, blk.drop_path(blk.block(x))


def _vit_by_hand(blk, x):
    x = x + blk.attn(blk.ln1(x))
    return x, ffn_branch(blk.ffn, blk.ln2(x))


def _conformer_block():
    """The last transformer block of a Conformer, drop path rate 0.5."""
    cfg = dict(_backbone_cfg('conformer'), drop_path_rate=0.5)
    return MODELS.build(cfg).conv_trans_3.trans_block


BLOCKS = {
    # The same block type is TNT's inner (pixel) and outer (patch) block.
    'tnt':
    BlockCase(
        lambda: TransformerBlock(DIMS, 2, ffn_ratio=2, drop_path_rate=0.5),
        _tnt_by_hand, (8, 16, DIMS)),
    # BatchNorm inside the MLP's linears, in train mode.
    'levit':
    BlockCase(lambda: Residual(MLP(DIMS, 2), drop_path_rate=0.5),
              _levit_by_hand, (8, 4, DIMS)),
    'conformer':
    BlockCase(_conformer_block, _vit_by_hand, (8, 5, DIMS)),
    # Swish FFN (MobileViT never passes a drop path rate to its blocks).
    'mobilevit':
    BlockCase(
        lambda: MobileVitBlock(
            16, DIMS, 64, 16, num_heads=2, drop_path_rate=0.5).global_rep[0],
        _vit_by_hand, (8, 4, DIMS)),
}


@pytest.mark.parametrize('placement', ['parallel', 'sequential'])
@pytest.mark.parametrize('host', BLOCKS)
def test_block_output_matches_the_formula_in_train_mode(
        host, placement, randomize_adapters, adaptmlp_by_hand):
    assert_block_follows_the_formula(BLOCKS[host], placement,
                                     randomize_adapters, adaptmlp_by_hand,
                                     NORMS)


# --- RevViT: reversible blocks ---------------------------------------------
@pytest.mark.parametrize('placement', ['parallel', 'sequential'])
def test_revvit_block_matches_the_formula_in_train_mode(
        placement, randomize_adapters, adaptmlp_by_hand):
    """y1 = x1 + attn(ln1(x2)), y2 = x2 + ffn(ln2(y1)) + s * AdaptMLP(y1):
    the adapter is part of G, beside the FFN. Dropout in the block, drawn
    under the seeds the block records for its backward."""
    torch.manual_seed(0)
    block = RevTransformerEncoderLayer(DIMS, 2, 64, drop_rate=0.2)
    randomize_norms(block, torch.Generator().manual_seed(0), NORMS)
    stock = copy.deepcopy(block)
    inject_adapters(block, adapter=dict(bottleneck=8), placement=placement)
    randomize_adapters(block)
    x1, x2 = torch.randn(8, 5, DIMS), torch.randn(8, 5, DIMS)

    y1, y2 = block.train()(x1, x2)
    stock.train()
    torch.manual_seed(block.seeds['attn'])
    expected_y1 = x1 + stock.attn(stock.ln1(x2))
    torch.manual_seed(block.seeds['ffn'])
    h = stock.ffn(stock.ln2(expected_y1))
    adapted = adaptmlp_by_hand(block.adaptmlp,
                               expected_y1 if placement == 'parallel' else h)
    assert_close(y1, expected_y1)
    assert_close(y2, x2 + h + adapted)
    # The dropout drew: without it the FFN gives something else.
    assert not torch.allclose(h, stock.eval().ffn(stock.ln2(expected_y1)))


def test_revvit_reversible_backward_gives_the_adapters_autograd_gradients(
        randomize_adapters, freeze_all_but_adapters):
    """Training runs the blocks in RevBackProp, whose backward recomputes
    each block (adapters included) from its outputs. The adapters get
    exactly the gradients of plain autograd (``no_custom_backward``), with
    the whole host frozen and dropout in the host and in the adapters.

    Both runs start from the same seed and so draw the same masks: the
    blocks' seeds come from the seeded generator (``import mmadaptformer``
    fixes mmpretrain's ``seed_cuda``, which drew them from ``torch.seed()``
    and so made every run differ; this test had to replace ``torch.seed``
    with a counter)."""
    cfg = dict(_backbone_cfg('revvit'), drop_rate=0.1)
    torch.manual_seed(0)
    model = AdaptFormer(
        backbone=cfg, adapter=dict(bottleneck=8, dropout=0.3)).train()
    randomize_adapters(model)
    freeze_all_but_adapters(model)
    names = adapter_parameter_names(model)
    assert len(names) == 8
    x = torch.randn(2, 3, 32, 32)
    grads = []
    for no_custom_backward in (False, True):
        model.backbone.no_custom_backward = no_custom_backward
        model.zero_grad(set_to_none=True)
        torch.manual_seed(1)
        out = model(x)[0]
        weights = torch.linspace(-1, 1, out.numel()).view_as(out)
        (out * weights).sum().backward()
        params = dict(model.named_parameters())
        grads.append({name: params[name].grad for name in names})
    for name in names:
        assert grads[0][name] is not None, name
        assert grads[0][name].abs().sum() > 0, name
        assert_close(grads[0][name], grads[1][name], rtol=1e-4, atol=1e-6)


_SEEDED_REVVIT_RUN = """
model = dict(
    backbone=dict(
        _delete_=True,
        type='AdaptFormer',
        backbone=dict(
            type='RevVisionTransformer',
            arch=dict(
                embed_dims=32, num_layers=2, num_heads=2,
                feedforward_channels=64),
            img_size=32,
            patch_size=8),
        adapter=dict(bottleneck=8, dropout=0.5, init='trunc_normal')))
custom_hooks = [dict(type='AdapterHook', allow_random_backbone=True)]
randomness = dict(seed=0)
train_cfg = dict(max_epochs=1, val_interval=10)
"""


def test_a_seeded_run_on_revvit_repeats(tmp_path, tiny_image_data,
                                        clean_loggers):
    """Two MMEngine runs of AdaptFormer on RevViT with the same seed, with
    dropout in the adapters, end with the same adapters and head. RevViT
    seeded every generator from ``torch.seed()`` in each block's forward,
    so the masks, and the trained weights, differed from run to run."""
    from helpers import TINY_IMAGE_CONFIG, image_data_cfg, write_config
    from mmengine.config import Config
    from mmengine.runner import Runner
    config = write_config(tmp_path / 'revvit.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data) + _SEEDED_REVVIT_RUN)
    trained = []
    for run in range(3):
        cfg = Config.fromfile(config)
        cfg.work_dir = str(tmp_path / f'run{run}')
        if run == 2:
            cfg.randomness = dict(seed=1)
        runner = Runner.from_cfg(cfg)
        runner.train()
        trained.append({
            name: param.detach().clone()
            for name, param in runner.model.named_parameters()
            if param.requires_grad
        })
    names = [name for name in trained[0] if 'adaptmlp' in name]
    assert len(names) == 8
    for name in trained[0]:
        assert torch.equal(trained[0][name], trained[1][name]), name
    # Another seed trains otherwise: the runs are seeded, not fixed.
    assert not all(
        torch.equal(trained[0][name], trained[2][name]) for name in names)


def test_revvit_input_hook_follows_deepcopy_and_is_removed(
        randomize_adapters, freeze_all_but_adapters):
    """The hook of a copy (EMA) reads the copy's train mode; removing the
    adapters removes it."""
    model = AdaptFormer(backbone=_backbone_cfg('revvit')).eval()
    twin = copy.deepcopy(model).train()
    randomize_adapters(twin)
    freeze_all_but_adapters(twin)
    x = torch.randn(2, 3, 32, 32)
    twin(x)[0].sum().backward()
    assert all(
        param.grad is not None for adapter in adapter_modules(twin).values()
        for param in adapter.parameters())
    assert remove_adapters(twin.backbone) == ['layers.0', 'layers.1']
    assert not twin(x)[0].requires_grad


def test_revvit_blocks_with_drop_path_are_refused():
    """RevViT builds its drop path inline on the FFN output, so no hook can
    keep the adapter out of it; its first block has none."""
    cfg = dict(
        _backbone_cfg('revvit'),
        arch=dict(
            embed_dims=DIMS,
            num_layers=3,
            num_heads=2,
            feedforward_channels=64),
        drop_path_rate=0.1)
    with pytest.raises(
            ValueError,
            match=r"^Block 'layers.1' \(RevTransformerEncoderLayer\) cannot "
            r'be adapted: its forward applies drop path \(drop_prob=0.05\) '
            r"to the output of 'ffn' with a DropPath it builds on every "
            r'call, not a submodule, so the AdaptMLP would be dropped with '
            r'the feed-forward network instead of running beside it. Build '
            r'the backbone with drop_path_rate=0, or adapt only the blocks '
            r'without drop path, model.backbone.layers=\[0\].$'):
        AdaptFormer(backbone=cfg)
    assert AdaptFormer(backbone=cfg, layers=[0]).adapted_blocks == \
        ['layers.0']


# --- whole backbones from mmpretrain's own configs -------------------------
# name: (config, backbone type, overrides, input size, adapted blocks)
BACKBONES = {
    # An inner (pixel) and an outer (patch) block per layer.
    'tnt': ('tnt/tnt-s-p16_16xb64_in1k.py', 'TNT',
            dict(
                arch=dict(
                    embed_dims_outer=DIMS,
                    embed_dims_inner=8,
                    num_layers=2,
                    num_heads_outer=2,
                    num_heads_inner=2),
                img_size=32), 32, [
                    f'layers.{i}.{kind}_block' for i in range(2)
                    for kind in ('inner', 'outer')
                ]),
    # Upstream LeViT reads no custom arch dict, so the smallest arch. Its
    # MLP Residuals (after each attention and each subsampling attention)
    # are adapted, the attention Residuals are not.
    'levit':
    ('levit/levit-128s_8xb256_in1k.py', 'LeViT', dict(img_size=32), 32, [
        'stages.0.1', 'stages.0.3', 'stages.1.1', 'stages.1.3', 'stages.1.5',
        'stages.1.7', 'stages.2.1', 'stages.2.3', 'stages.2.5', 'stages.2.7',
        'stages.2.9'
    ]),
    'revvit': ('revvit/revvit-small_8xb256_in1k.py', 'RevVisionTransformer',
               dict(
                   arch=dict(
                       embed_dims=DIMS,
                       num_layers=2,
                       num_heads=2,
                       feedforward_channels=64),
                   img_size=32), 32, ['layers.0', 'layers.1']),
    # The transformer branch: the first block and one per ConvTransBlock.
    'conformer':
    ('conformer/conformer-tiny-p16_8xb128_in1k.py', 'Conformer',
     dict(arch=dict(embed_dims=DIMS, depths=3, num_heads=2, channel_ratio=1)),
     32, ['trans_1', 'conv_trans_2.trans_block', 'conv_trans_3.trans_block']),
    # Two MobileViT stages with two and one transformer blocks.
    'mobilevit': ('mobilevit/mobilevit-xxsmall_8xb128_in1k.py', 'MobileViT',
                  dict(
                      arch=[['mobilenetv2', 16, 1, 1, 2],
                            ['mobilevit', 24, 2, DIMS, 64, 2, 2],
                            ['mobilevit', 32, 2, DIMS, 64, 1, 2]],
                      out_indices=(2, )), 32, [
                          'layers.1.1.global_rep.0', 'layers.1.1.global_rep.1',
                          'layers.2.1.global_rep.0'
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
    # Modules of the adapted types that are not listed are no blocks: only
    # LeViT's attention Residuals.
    block_types = {type(model.backbone.get_submodule(b)) for b in blocks}
    others = [
        m for name, m in model.backbone.named_modules()
        if type(m) in block_types and name not in blocks
    ]
    assert {type(m.block).__name__ for m in others} == \
        ({'Attention'} if host == 'levit' else set())
    # Two samples: LeViT's BatchNorms see one token per sample at the end.
    # RevViT trains through its reversible backward here.
    x = torch.randn(2, 3, size, size)
    assert_zero_adapters_keep_the_host(model, stock, blocks, x,
                                       freeze_all_but_adapters)


@pytest.mark.parametrize('host', BACKBONES)
def test_pretrained_init_cfg_loads_the_host(host, tmp_path):
    """A checkpoint of the host loads through the wrapper's init_cfg."""
    assert_host_loads_pretrained(_backbone_cfg(host), tmp_path)
