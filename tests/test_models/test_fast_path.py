# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The AdaptFormer fast path: fused attention, contiguous tokens, the frozen
prefix without autograd and activation checkpointing, each against the
plain path."""
import copy

import pytest
import torch
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG
from mmaction.models.backbones.vit_mae import Attention
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from torch.testing import assert_close

from mmadaptformer.models import (adapter_modules, adapter_parameter_names,
                                  apply_trainable, fuse_attention,
                                  plan_trainable)

VIDEO = (2, 3, 4, 32, 32)


def _attention(qkv_bias: bool, qk_scale, attn_drop_rate: float = 0.):
    torch.manual_seed(0)
    attn = Attention(
        16,
        num_heads=2,
        qkv_bias=qkv_bias,
        qk_scale=qk_scale,
        attn_drop_rate=attn_drop_rate)
    with torch.no_grad():
        for param in attn.parameters():
            # q_bias and v_bias start at zero, which would hide a bias put
            # in the wrong place.
            param.copy_(0.3 * torch.randn_like(param))
    return attn


def _host_forward(attn, x):
    return type(attn).forward(attn, x)


@pytest.mark.parametrize('training', [True, False])
@pytest.mark.parametrize('qk_scale', [None, 0.2])
@pytest.mark.parametrize('qkv_bias', [True, False])
def test_fused_attention_matches_host(qkv_bias, qk_scale, training):
    host = _attention(qkv_bias, qk_scale)
    fused = copy.deepcopy(host)
    assert fuse_attention(fused) == ['']
    host.train(training)
    fused.train(training)
    x = torch.randn(2, 7, 16)
    weights = torch.randn(2, 7, 16)
    results = []
    for attn, run in ((host, _host_forward), (fused, lambda m, x: m(x))):
        inp = x.clone().requires_grad_()
        out = run(attn, inp)
        (out * weights).sum().backward()
        results.append([out, inp.grad] +
                       [p.grad for _, p in sorted(attn.named_parameters())])
    assert len(results[0]) == (7 if qkv_bias else 5)
    for plain, fast in zip(*results):
        assert plain.abs().sum() > 0
        assert_close(fast, plain, rtol=1e-5, atol=1e-5)


def test_fused_attention_drops_out_in_training_only():
    # With p=1 every attention weight is dropped, so the output is the
    # projection bias; in eval mode nothing is dropped.
    host = _attention(True, None, attn_drop_rate=1.)
    fused = copy.deepcopy(host)
    fuse_attention(fused)
    x = torch.randn(2, 7, 16)
    assert_close(fused.train()(x), host.proj.bias.expand(2, 7, 16))
    assert_close(fused.eval()(x), _host_forward(host.eval(), x))
    assert not torch.allclose(fused.eval()(x), fused.train()(x))


def test_fused_attention_runs_host_forward_under_cpu_autocast():
    # PyTorch's CPU flash kernel is slower in bfloat16 than the host's
    # matmuls under autocast, so the host's forward runs.
    host = _attention(True, None)
    fused = copy.deepcopy(host)
    fuse_attention(fused)
    x = torch.randn(2, 7, 16)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = fused(x)
        assert out.dtype == torch.bfloat16
        assert torch.equal(out, _host_forward(host, x))


def _recognizer(host=None, **wrapper):
    """The tiny AdaptFormer video recognizer of the repository's config,
    with overrides of the host backbone and of the wrapper, and non-zero
    adapters (``up_proj`` is zero-initialised)."""
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG).model.to_dict()
    cfg['backbone']['backbone'].update(host or {})
    cfg['backbone'].update(wrapper)
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    with torch.no_grad():
        for adapter in adapter_modules(model).values():
            adapter.up_proj.weight.normal_()
    return model


def _backbone_grads(model, x):
    """Backbone features and the gradients they give every parameter."""
    model.zero_grad(set_to_none=True)
    # The frozen host's gradients too, which an unplanned backward refuses.
    model.backbone.allow_trained_host = True
    torch.manual_seed(1)  # the same dropout and drop-path draws each run
    feats = model.backbone(x)
    (feats * torch.linspace(-1, 1, feats.shape[-1])).sum().backward()
    return feats, {
        n: p.grad.clone()
        for n, p in model.named_parameters() if p.grad is not None
    }


def test_adaptformer_fast_path_is_on_by_default_and_exact():
    plain = _recognizer(fused_attention=False, contiguous_tokens=False)
    fast = _recognizer()
    fast.load_state_dict(plain.state_dict())
    assert fast.backbone.fused_attention and fast.backbone.contiguous_tokens
    assert list(fast.state_dict()) == list(plain.state_dict())
    assert 'forward' in vars(fast.backbone.backbone.blocks[0].attn)
    assert 'forward' not in vars(plain.backbone.backbone.blocks[0].attn)
    # The host's patch embedding leaves the tokens transposed in memory.
    layouts = []
    for model in (plain, fast):
        model.backbone.backbone.blocks[0].register_forward_pre_hook(
            lambda m, args: layouts.append(args[0].is_contiguous()))
    x = torch.randn(*VIDEO)
    feats, grads = _backbone_grads(plain, x)
    fast_feats, fast_grads = _backbone_grads(fast, x)
    assert layouts == [False, True]
    assert_close(fast_feats, feats, rtol=1e-5, atol=1e-5)
    assert sorted(fast_grads) == sorted(grads)
    for name, grad in grads.items():
        assert_close(fast_grads[name], grad, rtol=1e-4, atol=1e-5)
    # A deep copy (e.g. for EMA) runs its fused attention on its own
    # weights.
    twin = copy.deepcopy(fast)
    with torch.no_grad():
        twin.backbone.backbone.blocks[0].attn.proj.bias.add_(1.)
    assert not torch.allclose(twin.backbone(x), fast.backbone(x))


def _count_calls(module) -> list:
    calls = []
    module.register_forward_pre_hook(lambda *_: calls.append(1))
    return calls


@pytest.mark.parametrize('with_cp', [False, True])
def test_frozen_prefix_runs_without_autograd(with_cp):
    model = _recognizer(
        host=dict(depth=4, drop_path_rate=0.1), layers=[2, 3], with_cp=with_cp)
    blocks = model.backbone.backbone.blocks
    x = torch.randn(*VIDEO)
    # Reference: every weight requires a gradient; freezing must not change
    # the adapters' gradients.
    _, reference = _backbone_grads(model, x)

    apply_trainable(model, plan_trainable(model))
    outputs = []
    for block in blocks:
        block.register_forward_hook(lambda m, a, out: outputs.append(out))
    first_norm2 = _count_calls(blocks[0].norm2)
    _, grads = _backbone_grads(model, x)
    assert [out.grad_fn is None for out in outputs] == \
        [True, True, False, False]
    assert len(first_norm2) == 1  # not checkpointed, not recomputed
    assert sorted(grads) == sorted(adapter_parameter_names(model))
    for name, grad in grads.items():
        assert_close(grad, reference[name], rtol=1e-5, atol=1e-6)

    # A trainable part in front of the adapters (here the patch embedding)
    # keeps autograd on from there.
    model.backbone.backbone.patch_embed.requires_grad_(True)
    outputs.clear()
    _, grads = _backbone_grads(model, x)
    assert all(out.grad_fn is not None for out in outputs)
    assert any('patch_embed' in name for name in grads)
    for name, grad in grads.items():
        assert_close(grad, reference[name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('frozen', [True, False])
def test_with_cp_gradients_equal_plain_path(frozen):
    # Drop path and adapter dropout: the recomputation must draw the same
    # random numbers as the forward.
    kwargs = dict(
        host=dict(drop_path_rate=0.2),
        adapter=dict(bottleneck=8, scale=0.1, dropout=0.3))
    plain = _recognizer(**kwargs)
    fast = _recognizer(with_cp=True, **kwargs)
    fast.load_state_dict(plain.state_dict())
    if frozen:
        for model in (plain, fast):
            apply_trainable(model, plan_trainable(model))
    calls = _count_calls(fast.backbone.backbone.blocks[1].norm2)
    x = torch.randn(*VIDEO)
    feats, grads = _backbone_grads(plain, x)
    fast_feats, fast_grads = _backbone_grads(fast, x)
    assert len(calls) == 2  # the forward, and again in the backward pass
    assert_close(fast_feats, feats)
    expected = adapter_parameter_names(plain) if frozen else [
        f'backbone.{n}' for n, _ in plain.backbone.named_parameters()
    ]
    assert sorted(grads) == sorted(fast_grads) == sorted(expected)
    for name, grad in grads.items():
        assert grad.abs().sum() > 0
        assert_close(fast_grads[name], grad, rtol=1e-5, atol=1e-6)
