# Copyright (c) mmadaptformer contributors. All rights reserved.
import copy

import pytest
import torch
from block_builders import ffn_branch
from mmaction.models.backbones.swin import SwinTransformerBlock3D
from mmaction.models.backbones.vit_mae import Block
from mmpretrain.models.backbones.deit3 import DeiT3TransformerEncoderLayer
from mmpretrain.models.backbones.swin_transformer import SwinBlock
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from torch import nn
from torch.testing import assert_close

from mmadaptformer.models import (AdaptMLP, adapter_modules,
                                  adapter_parameter_names, block_paths,
                                  inject_adapters, remove_adapters)
from mmadaptformer.utils import ConfigError

DIMS = 32


# Each host: (build a block, call it, compute by hand from an un-hooked copy
# of it the post-attention stream x and the feed-forward branch h, drawing
# random numbers in the order the block does).
def _vit_mae(x):
    return Block(DIMS, num_heads=2, drop_path_rate=0.5, init_values=0.1)


def _vit_mae_by_hand(blk, x):
    x = x + blk.drop_path(blk.gamma_1 * blk.attn(blk.norm1(x)))
    return x, blk.drop_path(blk.gamma_2 * blk.mlp(blk.norm2(x)))


def _mmpretrain_vit(x):
    return TransformerEncoderLayer(
        DIMS, 2, 64, drop_path_rate=0.5, layer_scale_init_value=0.1)


def _mmpretrain_vit_by_hand(blk, x):
    x = x + blk.attn(blk.ln1(x))
    return x, ffn_branch(blk.ffn, blk.ln2(x))


def _deit3(x):
    return DeiT3TransformerEncoderLayer(DIMS, 2, 64, drop_path_rate=0.5)


def _deit3_by_hand(blk, x):
    # mmpretrain 1.2 normalises the FFN input with ln1, not ln2.
    x = x + blk.attn(blk.ln1(x))
    return x, ffn_branch(blk.ffn, blk.ln1(x))


def _swin(x):
    return SwinBlock(DIMS, 2, window_size=2, shift=True, drop_path=0.5)


def _swin_by_hand(blk, x):
    x = x + blk.attn(blk.norm1(x), (4, 4))
    return x, ffn_branch(blk.ffn, blk.norm2(x))


def _swin3d(x):
    return SwinTransformerBlock3D(
        DIMS, 2, window_size=(2, 2, 2), drop_path=0.5)


def _swin3d_by_hand(blk, x):
    x = x + blk.drop_path(blk.forward_part1(x, None))
    return x, blk.drop_path(blk.mlp(blk.norm2(x)))


HOSTS = {
    'mmaction-vit': (_vit_mae, _vit_mae_by_hand, (8, 5, DIMS), {}),
    'mmpretrain-vit':
    (_mmpretrain_vit, _mmpretrain_vit_by_hand, (8, 5, DIMS), {}),
    'mmpretrain-deit3': (_deit3, _deit3_by_hand, (8, 5, DIMS), {}),
    'mmpretrain-swin':
    (_swin, _swin_by_hand, (8, 16, DIMS), dict(hw_shape=(4, 4))),
    'mmaction-swin3d': (_swin3d, _swin3d_by_hand, (8, 2, 4, 4, DIMS),
                        dict(mask_matrix=None)),
}
ADAPTERS = {
    'default': dict(bottleneck=8),
    'learnable-scale': dict(bottleneck=8, scale='learnable'),
    'norm-in': dict(bottleneck=8, norm='in'),
    'norm-out': dict(bottleneck=8, norm='out'),
}


def _adapted(host, adapter, placement, randomize):
    build, by_hand, shape, kwargs = HOSTS[host]
    torch.manual_seed(0)
    block = build(None)
    stock = copy.deepcopy(block)
    assert inject_adapters(
        block, adapter=adapter, placement=placement) == [type(block).__name__]
    randomize(block)
    return block, stock, by_hand, torch.randn(shape), kwargs


@pytest.mark.parametrize('adapter', ADAPTERS.values(), ids=ADAPTERS.keys())
@pytest.mark.parametrize('placement', ['parallel', 'sequential'])
@pytest.mark.parametrize('host', HOSTS)
def test_block_output_matches_the_formula_in_train_mode(
        host, placement, adapter, randomize_adapters, adaptmlp_by_hand):
    block, stock, by_hand, x, kwargs = _adapted(host, adapter, placement,
                                                randomize_adapters)
    block.train()
    torch.manual_seed(1)
    out = block(x, **kwargs)

    torch.manual_seed(1)
    x1, h = by_hand(stock.train(), x)
    # Drop path dropped some samples, so the formula below also tells
    # whether the adapter branch is (wrongly) under drop path.
    assert (h.flatten(1).abs().sum(1) == 0).any()
    assert ((h.flatten(1).abs().sum(1) != 0)).any()
    if placement == 'parallel':
        expected = x1 + h + adaptmlp_by_hand(block.adaptmlp, x1)
    else:
        expected = x1 + h + adaptmlp_by_hand(block.adaptmlp, h)
    assert_close(out, expected)
    # The adapters matter: the stock output is different.
    torch.manual_seed(1)
    assert not torch.allclose(stock(x, **kwargs), out)


@pytest.mark.parametrize('host', ['mmaction-vit', 'mmpretrain-vit'])
def test_adapter_dropout_is_on_in_train_mode_and_off_in_eval_mode(
        host, randomize_adapters, adaptmlp_by_hand):
    block, stock, by_hand, x, kwargs = _adapted(
        host, dict(bottleneck=64, dropout=0.5), 'parallel', randomize_adapters)
    block.eval()
    stock.eval()
    # Drop path is off in eval mode, so outputs differ across train-mode
    # calls only through the adapter's dropout.
    block.adaptmlp.train()
    assert not torch.allclose(block(x, **kwargs), block(x, **kwargs))

    block.eval()
    out = block(x, **kwargs)
    assert torch.equal(out, block(x, **kwargs))
    x1, h = by_hand(stock, x)
    assert_close(out, x1 + h + adaptmlp_by_hand(block.adaptmlp, x1))


@pytest.mark.parametrize('placement', ['parallel', 'sequential'])
def test_zero_initialised_adapters_do_not_change_the_block(placement):
    torch.manual_seed(0)
    block = _vit_mae(None).eval()
    stock = copy.deepcopy(block)
    inject_adapters(block, placement=placement)
    x = torch.randn(2, 5, DIMS)
    assert torch.equal(block(x), stock(x))


def test_gradients_reach_only_the_adapters(randomize_adapters,
                                           freeze_all_but_adapters):
    block, *_ = _adapted('mmaction-vit', dict(bottleneck=8), 'parallel',
                         randomize_adapters)
    freeze_all_but_adapters(block)
    block(torch.randn(2, 5, DIMS)).sum().backward()
    for name, param in block.named_parameters():
        if name.startswith('adaptmlp.'):
            assert param.grad is not None and param.grad.abs().sum() > 0
        else:
            assert param.grad is None, name


def test_state_does_not_leak_between_calls(randomize_adapters):
    block, *_ = _adapted('mmaction-vit', dict(bottleneck=8), 'parallel',
                         randomize_adapters)
    block.eval()
    router = block._adapter_router
    a, b = torch.randn(2, 5, DIMS), torch.randn(3, 5, DIMS)
    out_a = block(a)
    assert router.state.x is None and not router.state.armed
    block(b)
    assert torch.equal(block(a), out_a)


def test_found_by_type_in_module_order_and_layers_select_them():
    model = nn.Sequential(*[_vit_mae(None) for _ in range(4)])
    names = inject_adapters(
        model, adapter=dict(bottleneck=[4, 8]), layers=[3, -4])
    assert names == ['3', '0']
    assert model[3].adaptmlp.bottleneck == 4
    assert model[0].adaptmlp.bottleneck == 8
    assert not hasattr(model[1], 'adaptmlp')
    assert list(adapter_modules(model)) == ['0.adaptmlp', '3.adaptmlp']
    assert adapter_parameter_names(model) == [
        f'{i}.adaptmlp.{p}' for i in (0, 3)
        for p in ('down_proj.weight', 'down_proj.bias', 'up_proj.weight',
                  'up_proj.bias')
    ]


def test_remove_adapters_restores_the_block(randomize_adapters):
    block, stock, _, x, _ = _adapted('mmaction-vit', dict(bottleneck=8),
                                     'parallel', randomize_adapters)
    block.eval()
    stock.eval()
    assert not torch.allclose(block(x), stock(x))
    assert remove_adapters(block) == ['Block']
    assert not adapter_modules(block)
    assert block.state_dict().keys() == stock.state_dict().keys()
    assert torch.equal(block(x), stock(x))
    # It can be adapted again.
    inject_adapters(block)


class ToyBlock(nn.Module):

    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(DIMS)
        self.attn = nn.Linear(DIMS, DIMS)
        self.norm2 = nn.LayerNorm(DIMS)
        self.unused_norm = nn.LayerNorm(DIMS)
        self.mlp = nn.Sequential(
            nn.Linear(DIMS, 64), nn.GELU(), nn.Linear(64, DIMS))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ToyNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(DIMS, DIMS)
        self.blocks = nn.ModuleList([ToyBlock(), ToyBlock()])

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return x


def test_unknown_block_type_error_lists_types_and_syntax():
    with pytest.raises(ValueError) as e:
        inject_adapters(ToyNet())
    message = str(e.value)
    assert 'No transformer block of a known type was found in ToyNet' \
        in message
    assert 'ToyBlock' in message
    assert "block_types=[dict(type='MyBlock', norm='norm2', ffn='mlp')]" \
        in message


def test_a_misspelt_declared_block_type_is_named_with_the_closest(log_records):
    """A typo in ``block_types``' type said only that no known block was
    found; now it names the declared type and the class it resembles, in
    the error and in the warning when other blocks were found."""
    declared = [dict(type='ToyBlok', norm='norm2', ffn='mlp')]
    with pytest.raises(ConfigError) as info:
        inject_adapters(ToyNet(), block_types=declared, config_key='my')
    assert str(info.value).startswith(
        "my.block_types declares type 'ToyBlok' (did you mean 'ToyBlock'?), "
        'which no module of ToyNet has. No transformer block of a known '
        'type was found in ToyNet.')
    known = nn.Sequential(_vit_mae(None), ToyNet())
    assert inject_adapters(known, block_types=declared) == ['0']
    assert ("model.backbone.block_types declares type 'ToyBlok' (did you "
            "mean 'ToyBlock'?), which no module of Sequential has.") in [
                r.getMessage() for r in log_records
            ]


def test_block_paths_are_the_blocks_inject_adapters_finds():
    known = nn.Sequential(
        _vit_mae(None), nn.Linear(DIMS, DIMS), _vit_mae(None))
    assert block_paths(known) == ['0', '2']
    assert block_paths(ToyNet()) == []
    declared = [dict(type='ToyBlock', norm='norm2', ffn='mlp')]
    assert block_paths(ToyNet(), declared) == ['blocks.0', 'blocks.1']
    # A declared block nested in another found block is not listed.
    outer = nn.Sequential(ToyNet(), _vit_mae(None))
    outer[1].inner = ToyBlock()
    assert block_paths(outer, declared) == ['0.blocks.0', '0.blocks.1', '1']
    assert inject_adapters(
        ToyNet(), block_types=declared) == ['blocks.0', 'blocks.1']
    with pytest.raises(ValueError, match="needs a non-empty string 'ffn'"):
        block_paths(ToyNet(), [dict(type='ToyBlock', norm='norm2')])


def test_declared_block_type_is_adapted(randomize_adapters, adaptmlp_by_hand):
    model = ToyNet()
    stock = copy.deepcopy(model)
    names = inject_adapters(
        model,
        adapter=dict(bottleneck=4),
        block_types=[dict(type='ToyBlock', norm='norm2', ffn='mlp')])
    assert names == ['blocks.0', 'blocks.1']
    randomize_adapters(model)
    x = torch.randn(2, 3, DIMS)
    out = model(x)

    x = stock.stem(x)
    for blk, adapted in zip(stock.blocks, model.blocks):
        x1 = x + blk.attn(blk.norm1(x))
        x = x1 + blk.mlp(blk.norm2(x1)) + adaptmlp_by_hand(
            adapted.adaptmlp, x1)
    assert_close(out, x)


def test_declared_attributes_are_checked():
    with pytest.raises(
            AttributeError,
            match="ToyBlock has no module 'ln2', which "
            'block_types declares as its norm'):
        inject_adapters(
            ToyNet(),
            block_types=[dict(type='ToyBlock', norm='ln2', ffn='mlp')])
    with pytest.raises(ValueError, match="needs a non-empty string 'ffn'"):
        inject_adapters(
            ToyNet(), block_types=[dict(type='ToyBlock', norm='norm2')])
    # A norm that exists but is not called is caught at the first forward.
    model = ToyNet()
    inject_adapters(
        model,
        block_types=[dict(type='ToyBlock', norm='unused_norm', ffn='mlp')])
    with pytest.raises(
            RuntimeError,
            match='ToyBlock.unused_norm was not called during '
            'ToyBlock.forward'):
        model(torch.randn(1, 2, DIMS))


def test_invalid_selection_and_adapter_arguments_are_named():
    """ConfigErrors (in the tools' REFUSALS) naming the config key."""
    with pytest.raises(
            ConfigError,
            match=r'model.backbone.layers=\[0, 4\] contains 4, but the model '
            'has 4 adaptable blocks, so valid indices are 0..3'):
        inject_adapters(
            nn.Sequential(*[_vit_mae(None) for _ in range(4)]), layers=[0, 4])
    model = nn.Sequential(_vit_mae(None), _vit_mae(None))
    with pytest.raises(
            ConfigError,
            match=r'model.backbone.adapter.bottleneck must hold positive '
            r"ints, but got 0 for block '1' in \[8, 0\]"):
        inject_adapters(model, adapter=dict(bottleneck=[8, 0]))
    with pytest.raises(
            ConfigError,
            match=r'model.backbone.adapter.bottleneck must be a positive int '
            r'\(or a list of one per adapted block\), but got 0.$'):
        inject_adapters(model, adapter=dict(bottleneck=0))
    with pytest.raises(
            ConfigError,
            match='model.backbone.adapter.bottleneck lists 3 values, but 2 '
            'blocks'):
        inject_adapters(model, adapter=dict(bottleneck=[8, 8, 8]))
    with pytest.raises(
            ConfigError,
            match='model.backbone.adapter.scale must be a number or '
            "'learnable', but got 'big'"):
        inject_adapters(model, adapter=dict(scale='big'))
    with pytest.raises(
            ConfigError,
            match=r'my.adapter.dropout must be a float in \[0, 1\), but got '
            '1.5'):
        inject_adapters(model, adapter=dict(dropout=1.5), config_key='my')
    with pytest.raises(
            ConfigError,
            match='model.backbone.layers must contain '
            "ints, but got 'a'"):
        inject_adapters(model, layers=['a'])
    with pytest.raises(ValueError, match=r"unknown keys \['rank'\]"):
        inject_adapters(model, adapter=dict(rank=4))
    with pytest.raises(
            ConfigError, match='model.backbone.placement must be one of'):
        inject_adapters(model, placement='serial')
    # Nothing was injected by the failed calls.
    assert not adapter_modules(model)
    inject_adapters(model)
    with pytest.raises(ValueError, match='cannot be injected twice'):
        inject_adapters(model)


def test_a_wrong_block_types_declaration_is_named_under_the_config_key():
    """``config_key`` names the ``block_types`` key too, not always
    ``model.backbone.block_types``; nothing is injected."""
    model = nn.Sequential(_vit_mae(None), _vit_mae(None))
    with pytest.raises(ConfigError) as info:
        inject_adapters(model, block_types=['Block'], config_key='my')
    assert str(info.value) == (
        'my.block_types[0] must be a dict such as '
        "dict(type='MyBlock', norm='norm2', ffn='mlp'), but got 'Block'.")
    assert not adapter_modules(model)


class _ChannelScale(nn.Module):
    """A per-channel scale of (B, C, H, W) maps, whose class says nothing
    of the layout (unlike a GroupNorm or a LayerNorm2d)."""

    def __init__(self, dims):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dims))

    def forward(self, x):
        return x * self.weight.view(1, -1, 1, 1)


class _ConvBlock(nn.Module):
    """x + mlp(norm2(x)) on (B, C, H, W) maps, with 1x1 convolutions."""

    def __init__(self, dims=16):
        super().__init__()
        self.norm2 = _ChannelScale(dims)
        self.mlp = nn.Sequential(
            nn.Conv2d(dims, 2 * dims, 1), nn.GELU(),
            nn.Conv2d(2 * dims, dims, 1))

    def forward(self, x):
        return x + self.mlp(self.norm2(x))


@pytest.mark.parametrize('placement', ['parallel', 'sequential'])
def test_a_declared_channels_first_block_is_refused_by_name(placement):
    """A guard of kept behaviour, on a toy block since PoolFormer is now
    refused at injection: a channels-first block whose norm does not say
    so (see
    test_channels_first_blocks.py for those that do, refused at
    injection) gave the adapter a map whose last dim is not the width,
    which failed with a bare ``mat1 and mat2 shapes cannot be
    multiplied``; now the error names the block, the shape and why."""
    model = _ConvBlock(16)
    inject_adapters(
        model,
        block_types=[dict(type='_ConvBlock', norm='norm2', ffn='mlp')],
        placement=placement)
    where = ('_ConvBlock.norm2 input'
             if placement == 'parallel' else '_ConvBlock.mlp output')
    with pytest.raises(RuntimeError) as info:
        model(torch.randn(1, 16, 8, 8))
    assert str(info.value).startswith(
        f'The AdaptMLP of _ConvBlock (16 channels) got the {where} of '
        'shape (1, 16, 8, 8), whose last dim is not its 16 channels.')
    assert 'channels last (B, N, C)' in str(info.value)


def test_adapters_follow_the_device_and_dtype_of_the_block():
    block = _vit_mae(None).double()
    inject_adapters(block)
    assert isinstance(block.adaptmlp, AdaptMLP)
    assert block.adaptmlp.down_proj.weight.dtype == torch.float64
    assert block(torch.randn(1, 5, DIMS, dtype=torch.float64)).dtype == \
        torch.float64


@pytest.mark.parametrize('use_reentrant', [True, False])
def test_hooks_are_recomputed_under_checkpointing(use_reentrant,
                                                  randomize_adapters,
                                                  freeze_all_but_adapters):
    from torch.utils.checkpoint import checkpoint
    block, *_ = _adapted('mmpretrain-swin', dict(bottleneck=8, dropout=0.3),
                         'parallel', randomize_adapters)
    freeze_all_but_adapters(block)
    x = torch.randn(2, 16, DIMS, requires_grad=True)
    weights = torch.randn(2, 16, DIMS)
    grads = []
    for run in (block,
                lambda *a: checkpoint(block, *a, use_reentrant=use_reentrant)):
        block.zero_grad()
        x.grad = None
        torch.manual_seed(0)
        (run(x, (4, 4)) * weights).sum().backward()
        grads.append([x.grad] + [p.grad for p in block.adaptmlp.parameters()])
    for plain, checkpointed in zip(*grads):
        assert plain.abs().sum() > 0
        assert_close(checkpointed, plain)
    router = block._adapter_router
    assert router.state.x is None and not router.state.armed
