# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tiny mmpretrain hosts and blocks that model tests build and check alike."""
import copy
from typing import Callable, NamedTuple, Optional, Sequence, Set, Tuple

import torch
from mmengine.registry import MODELS
from mmpretrain.models.backbones.beit import BEiTTransformerEncoderLayer
from torch import nn
from torch.testing import assert_close

#: A 2-block mmpretrain ViT of width 32 on 32 x 32 images (one 2 x 2 patch
#: grid), its class token out: the host of the wrapper tests.
TINY_IMAGE_VIT = dict(
    type='mmpretrain.VisionTransformer',
    arch=dict(
        embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
    img_size=32,
    patch_size=16,
    out_type='cls_token')


def beit_block(dims: int) -> nn.Module:
    """A BEiT block of width ``dims`` (2 heads, feed-forward 64), with
    layer scale 0.1, relative position bias over a 2x2 window and drop
    path 0.5, so that a wrong wiring of either shows in its output."""
    return BEiTTransformerEncoderLayer(
        dims,
        2,
        64,
        layer_scale_init_value=0.1,
        window_size=(2, 2),
        use_rel_pos_bias=True,
        drop_path_rate=0.5)


def tiny_poolformer(embed_dims: Sequence[int]) -> nn.Module:
    """An mmpretrain PoolFormer of one block per stage, of the stages'
    widths ``embed_dims`` (four), MLP ratio 2 and layer scale 1e-5."""
    return MODELS.build(
        dict(
            type='mmpretrain.PoolFormer',
            arch=dict(
                layers=[1, 1, 1, 1],
                embed_dims=list(embed_dims),
                mlp_ratios=[2, 2, 2, 2],
                layer_scale_init_value=1e-5)))


class BlockCase(NamedTuple):
    """A host block: how to build it, its input, and by hand from an
    un-hooked copy the post-attention stream ``x`` and the whole
    feed-forward branch ``h`` (drawing random numbers in the block's
    order); ``kwargs`` are the block's forward arguments besides its
    input, ``after`` is what the block applies after the residual add and
    ``output`` picks the tokens from what the block returns."""
    build: Callable
    by_hand: Callable
    shape: Tuple[int, ...]
    kwargs: Optional[dict] = None
    after: Optional[Callable] = None
    output: Callable = lambda out: out


def ffn_branch(ffn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """mmcv FFN without its identity: dropout_layer(gamma2(layers(x)))."""
    return ffn.dropout_layer(ffn.gamma2(ffn.layers(x)))


def randomize_norms(
    block: nn.Module,
    generator: torch.Generator,
    norms: Tuple[type, ...] = (nn.LayerNorm, )
) -> None:
    """Non-trivial affines for the ``norms`` of ``block``, so that reading
    the wrong norm's input or output shows; biases stay zero, so dropped
    samples stay zero."""
    with torch.no_grad():
        for module in block.modules():
            if isinstance(module, norms):
                module.weight.uniform_(0.5, 1.5, generator=generator)


def assert_block_follows_the_formula(
    case: BlockCase,
    placement: str,
    randomize_adapters: Callable,
    adaptmlp_by_hand: Callable,
    norms: Tuple[type, ...] = (nn.LayerNorm, )
) -> None:
    """The block of ``case`` with an adapter (``placement``) gives, in
    train mode, ``x + h + AdaptMLP(x or h)`` by hand (then ``after``), its
    drop path dropping some samples and keeping others (so that an adapter
    branch wrongly under drop path shows), and not the stock output.

    Args:
        case (BlockCase): The block and how to compute it by hand.
        placement (str): ``'parallel'`` or ``'sequential'``.
        randomize_adapters (Callable): The fixture of that name.
        adaptmlp_by_hand (Callable): The fixture of that name.
        norms (tuple[type]): The norm types whose affines are randomized.
            Defaults to ``(nn.LayerNorm, )``.
    """
    from mmadaptformer.models import inject_adapters
    torch.manual_seed(0)
    block = case.build()
    randomize_norms(block, torch.Generator().manual_seed(0), norms)
    stock = copy.deepcopy(block)
    assert inject_adapters(
        block, adapter=dict(bottleneck=8),
        placement=placement) == [type(block).__name__]
    randomize_adapters(block)
    x = torch.randn(case.shape)

    block.train()
    torch.manual_seed(1)
    kwargs = case.kwargs or {}
    out = case.output(block(x, **kwargs))
    torch.manual_seed(1)
    x1, h = case.by_hand(stock.train(), x)
    # Drop path dropped some samples and kept others, so the formula also
    # tells whether the adapter branch is (wrongly) under drop path.
    dropped = h.flatten(1).abs().sum(1) == 0
    assert dropped.any() and not dropped.all()
    adapted = adaptmlp_by_hand(block.adaptmlp,
                               x1 if placement == 'parallel' else h)
    expected = x1 + h + adapted
    if case.after is not None:
        expected = case.after(stock, expected)
    assert_close(out, expected)
    # The adapters matter: the stock output is different.
    torch.manual_seed(1)
    assert not torch.allclose(case.output(stock(x, **kwargs)), out)


def flat_outputs(out) -> torch.Tensor:
    """A backbone's outputs (a tensor, or tuples of them) as one flat
    tensor."""
    if isinstance(out, torch.Tensor):
        return out.flatten()
    return torch.cat([flat_outputs(o) for o in out])


def stock_and_adapted(cfg: dict) -> Tuple[nn.Module, nn.Module]:
    """The backbone ``cfg`` built and initialised (seed 0), and AdaptFormer
    on it (unfused attention, tokens as the host lays them out) with its
    weights, both in eval mode: the adapters start at zero."""
    from mmadaptformer.models import AdaptFormer
    torch.manual_seed(0)
    stock = MODELS.build(cfg)
    stock.init_weights()
    stock.train(False)  # some hosts' train() returns None
    model = AdaptFormer(
        backbone=cfg, fused_attention=False, contiguous_tokens=False)
    model.train(False)
    model.load_state_dict(stock.state_dict(), strict=False)
    return stock, model


def assert_zero_adapters_keep_the_host(model: nn.Module, stock: nn.Module,
                                       blocks: Sequence[str], x: torch.Tensor,
                                       freeze_all_but_adapters: Callable):
    """``model`` (:func:`stock_and_adapted`) adapted ``blocks``, one
    AdaptMLP each, and gives the stock outputs on ``x``; its keys are the
    stock ones and 4 adapter keys a block; in train mode, with all but the
    adapters frozen, only the adapters get gradients (the up-projections
    non-zero ones)."""
    from mmadaptformer.models import adapter_modules, adapter_parameter_names
    assert model.adapted_blocks == blocks
    assert list(adapter_modules(model.backbone)) == \
        [f'{b}.adaptmlp' for b in blocks]
    assert torch.equal(flat_outputs(model(x)), flat_outputs(stock(x)))
    keys = set(model.state_dict())
    adapter_keys = set(adapter_parameter_names(model.backbone))
    assert len(adapter_keys) == 4 * len(blocks)
    assert keys - adapter_keys == set(stock.state_dict())
    assert all('.adaptmlp.' in key for key in adapter_keys)

    model.train()
    freeze_all_but_adapters(model)
    out = flat_outputs(model(x))
    (out * torch.randn_like(out)).sum().backward()
    assert_only_adapters_have_gradients(model.backbone, adapter_keys)


def assert_only_adapters_have_gradients(module: nn.Module,
                                        adapter_names: Set[str]) -> None:
    """After one backward pass from the zero initialisation, the parameters
    of ``module`` named in ``adapter_names`` have gradients (the
    up-projections non-zero ones) and no other parameter has one."""
    for name, param in module.named_parameters():
        if name in adapter_names:
            # The zero up-projection stops down_proj's gradient at step 0;
            # it is a zero tensor, not None.
            assert param.grad is not None, name
            if name.endswith('up_proj.weight'):
                assert param.grad.abs().sum() > 0, name
        else:
            assert param.grad is None, name


def mmpretrain_backbone_cfg(path: str, type_: str, overrides: dict) -> dict:
    """The backbone of mmpretrain's config ``path`` (of type ``type_``)
    without its ``init_cfg`` (some configs point at a checkpoint to
    fine-tune from), with a copy of ``overrides`` (tiny sizes) merged in and
    its type scoped to mmpretrain."""
    from mmengine.hub import get_config
    cfg = get_config(f'mmpretrain::{path}').model.backbone.to_dict()
    assert cfg['type'] == type_
    cfg.pop('init_cfg', None)
    cfg.update(copy.deepcopy(overrides), type=f'mmpretrain.{type_}')
    return cfg
