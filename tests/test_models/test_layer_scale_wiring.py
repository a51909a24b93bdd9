# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The adapter sits beside a block's layer scale and drop path, never under
them (AdaptFormer, arXiv 2205.13535, eq. 2-3; the official code adds the
adapter after the branch's drop path).

With the adapter's output a known constant ``s * c`` and the host's
feed-forward layer scale 0.5, an adapted block must give the stock block's
output plus ``s * c`` in every sample, drop path on; an adapter wired under
the layer scale gives ``0.5 * s * c`` (or 0 for a dropped sample)."""
import copy
from typing import Callable, NamedTuple, Tuple

import pytest
import torch
from block_builders import beit_block, tiny_poolformer
from mmaction.models.backbones.vit_mae import Block
from mmaction.models.common import FFNWithNorm
from mmpretrain.models.backbones.deit3 import DeiT3TransformerEncoderLayer
from mmpretrain.models.backbones.efficientformer import Meta3D
from mmpretrain.models.backbones.hivit import BlockWithRPE
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from mmpretrain.models.backbones.xcit import XCABlock
from torch import nn
from torch.testing import assert_close

from mmadaptformer.models import adapter_modules, inject_adapters
from mmadaptformer.models.adapters.block_wiring import KNOWN_BLOCK_TYPES
from mmadaptformer.models.hosts import qualname
from mmadaptformer.utils import ConfigError

DIMS = 32
#: The adapter's scale (AdaptMLP's default) and the layer scale set.
SCALE, LAYER_SCALE = 0.1, 0.5


def _beit():
    return beit_block(DIMS)


def _hivit():
    return BlockWithRPE(
        2,
        DIMS,
        2,
        mlp_ratio=3.,
        drop_path=0.5,
        rpe=True,
        layer_scale_init_value=0.1)


def _timesformer():
    return FFNWithNorm(
        embed_dims=DIMS,
        feedforward_channels=2 * DIMS,
        dropout_layer=dict(type='DropPath', drop_prob=0.5),
        layer_scale_init_value=0.1,
        norm_cfg=dict(type='LN', eps=1e-6))


class Case(NamedTuple):
    """A block with a layer scale on its feed-forward branch."""
    build: Callable[[], nn.Module]
    shape: Tuple[int, ...]
    kwargs: dict
    #: Its feed-forward layer scale.
    layer_scale: str
    #: A branch under that layer scale, for the wrong wiring.
    under: str


HOSTS = {
    'mmaction-vit':
    Case(lambda: Block(DIMS, num_heads=2, drop_path_rate=0.5, init_values=0.1),
         (8, 5, DIMS), {}, 'gamma_2', 'mlp'),
    'mmpretrain-vit':
    Case(
        lambda: TransformerEncoderLayer(
            DIMS, 2, 64, drop_path_rate=0.5, layer_scale_init_value=0.1),
        (8, 5, DIMS), {}, 'ffn.gamma2.weight', 'ffn.layers'),
    'mmpretrain-deit3':
    Case(lambda: DeiT3TransformerEncoderLayer(DIMS, 2, 64, drop_path_rate=0.5),
         (8, 5, DIMS), {}, 'ffn.gamma2.weight', 'ffn.layers'),
    'mmpretrain-beit':
    Case(_beit, (8, 5, DIMS), dict(rel_pos_bias=None), 'gamma_2', 'ffn'),
    'mmpretrain-hivit':
    Case(_hivit, (8, 4, DIMS), dict(rpe_index=True), 'gamma_2', 'mlp'),
    'mmpretrain-xcit':
    Case(
        lambda: XCABlock(
            DIMS, 2, mlp_ratio=2., drop_path=0.5, layer_scale_init_value=0.1),
        (8, 16, DIMS), dict(H=4, W=4), 'gamma2', 'ffn'),
    'mmaction-timesformer':
    Case(_timesformer, (8, 5, DIMS), {}, 'gamma2.weight', 'layers'),
}


def _constant_adapter(block):
    """Make ``block``'s adapter output ``SCALE * c`` whatever its input."""
    c = torch.arange(1., DIMS + 1)
    with torch.no_grad():
        block.adaptmlp.up_proj.weight.zero_()
        block.adaptmlp.up_proj.bias.copy_(c)
    return SCALE * c


def _with_layer_scale(build, param):
    torch.manual_seed(0)
    block = build()
    with torch.no_grad():
        block.get_parameter(param).fill_(LAYER_SCALE)
    return block


def _out(block, x, kwargs):
    torch.manual_seed(1)
    return block.train()(x, **kwargs)


@pytest.mark.parametrize('host', HOSTS)
def test_the_adapter_is_outside_the_hosts_layer_scale_and_drop_path(host):
    """A guard of kept behaviour: every host whose block scales its
    feed-forward branch adds the adapter after the scale and drop path.
    The same block wired under the layer scale fails the formula."""
    build, shape, kwargs, param, under = HOSTS[host]
    block = _with_layer_scale(build, param)
    stock = copy.deepcopy(block)
    wrong = copy.deepcopy(block)
    x = torch.randn(shape)
    inject_adapters(block, adapter=dict(bottleneck=4))
    adapter_out = _constant_adapter(block)
    assert_close(_out(block, x, kwargs), _out(stock, x, kwargs) + adapter_out)

    spec = KNOWN_BLOCK_TYPES[qualname(type(block))]
    inject_adapters(
        wrong,
        adapter=dict(bottleneck=4),
        block_types=[
            dict(
                type=type(block).__name__,
                norm=spec['norm'],
                ffn=spec['ffn'],
                branch=under)
        ])
    _constant_adapter(wrong)
    assert not torch.allclose(
        _out(wrong, x, kwargs),
        _out(stock, x, kwargs) + adapter_out)


def test_a_declared_block_with_a_layer_scale_needs_its_branch():
    """EfficientFormer's Meta3D, x + drop_path(ls2(mlp(norm2(x)))),
    declared without ``branch``: the adapter joined the ``mlp`` output and
    was multiplied by ``ls2`` (and dropped with the branch). Now it is
    refused, naming what scales it and the branch to declare; with that
    branch the block gives the formula."""
    build = lambda: Meta3D(DIMS, drop_path=0.5)  # noqa: E731
    block = _with_layer_scale(build, 'ls2.weight')
    stock = copy.deepcopy(block)
    with pytest.raises(ConfigError) as info:
        inject_adapters(
            block, block_types=[dict(type='Meta3D', norm='norm2', ffn='mlp')])
    assert str(info.value) == (
        "Block 'Meta3D' (Meta3D) declares no branch, so its AdaptMLP would "
        "join the output of 'mlp', but the block holds drop path "
        "'drop_path' (drop_prob=0.5), layer scale 'ls1', layer scale 'ls2', "
        'which its forward may apply to that output, scaling or dropping '
        'the adapter with it; AdaptFormer adds s * AdaptMLP(x) beside the '
        'whole feed-forward branch. Declare in model.backbone.block_types '
        'the module whose output is that branch right before the residual '
        'add, e.g. block_types=['
        "dict(type='Meta3D', norm='norm2', ffn='mlp', branch='drop_path')], "
        "or branch='mlp' if the block adds the output of 'mlp' unchanged.")
    assert not adapter_modules(block)

    inject_adapters(
        block,
        adapter=dict(bottleneck=4),
        block_types=[
            dict(type='Meta3D', norm='norm2', ffn='mlp', branch='drop_path')
        ])
    adapter_out = _constant_adapter(block)
    x = torch.randn(8, 49, DIMS)  # its attention's 7x7 resolution
    assert_close(_out(block, x, {}), _out(stock, x, {}) + adapter_out)


def test_poolformer_is_refused_for_its_channels_first_norm_first():
    """PoolFormer's block, x + drop_path(layer_scale_2 * mlp(norm2(x))),
    declared without ``branch`` was refused for its layer scale, and then,
    with ``branch``, at its first forward (or not at all where its maps
    are as wide as they have channels). Declaring ``branch`` cannot make
    it work, so its channels-first norm is named first."""
    model = tiny_poolformer([16, 16, 16, 16])
    with pytest.raises(
            ConfigError,
            match=r'^model\.backbone\.block_types declares PoolFormerBlock '
            r"with norm='norm2', but block 'network\.0\.0' \(PoolFormerBlock"
            r'\) cannot be adapted: that norm is a GroupNorm'):
        inject_adapters(
            model,
            block_types=[
                dict(type='PoolFormerBlock', norm='norm2', ffn='mlp')
            ])
    assert not adapter_modules(model)


def test_a_declared_branch_is_taken_as_it_is():
    """A guard of kept behaviour: ``branch`` equal to ``ffn`` says the
    block adds its output unchanged, and is not refused; a block without
    layer scale or drop path needs no ``branch``."""
    block = Meta3D(DIMS)
    assert inject_adapters(
        block,
        block_types=[
            dict(type='Meta3D', norm='norm2', ffn='mlp', branch='mlp')
        ]) == ['Meta3D']
    plain = Meta3D(DIMS, use_layer_scale=False)
    assert inject_adapters(
        plain, block_types=[dict(type='Meta3D', norm='norm2',
                                 ffn='mlp')]) == ['Meta3D']
