# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdaptFormer and VPT models under ``torch.nn.DataParallel``.

On a machine without a GPU (and on one GPU) ``DataParallel`` calls the
module itself: the wrapped models answer, train and save as they do
unwrapped. On several GPUs it runs a replica per GPU, each a shallow copy
of every module (``Module._replicate_for_data_parallel``) holding its own
copies of the parameters, in its own thread; the replicas share the
original modules' hook dicts. :func:`_replica` builds such a replica on
the CPU as ``torch.nn.parallel.replicate`` builds one.
"""
import copy
import threading

import pytest
import torch
from data_parallel_replicas import data_parallel_replica
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     VIDEO_HOST)

KINDS = ('adaptformer', 'vpt_shallow', 'vpt_deep')


def _model(kind):
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope('mmaction')
    if kind == 'adaptformer':
        cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    else:
        cfg = Config.fromfile(TINY_VIDEO_CONFIG)
        cfg.model.backbone = dict(
            type='VPT',
            backbone=cfg.model.backbone,
            num_prompts=4,
            deep=kind == 'vpt_deep')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    # Its loss's backward reaches the host too: no plan froze it.
    model.backbone.allow_trained_host = True
    return model.eval()


def _batch(model):
    from mmaction.structures import ActionDataSample
    torch.manual_seed(1)
    videos = list(torch.rand(2, 1, 3, 4, 32, 32) * 255)
    samples = [ActionDataSample().set_gt_label(i) for i in range(2)]
    data = model.data_preprocessor(dict(inputs=videos, data_samples=samples))
    return data['inputs'], data['data_samples']


def _is_trained_part(module_path: str, name: str) -> bool:
    return 'adaptmlp' in module_path or 'prompt' in name


def _changed(p: torch.Tensor) -> torch.Tensor:
    """``p`` plus a fixed random change (a uniform one would vanish in a
    LayerNorm over the prompt tokens)."""
    g = torch.Generator().manual_seed(p.numel())
    return p + torch.randn(p.shape, generator=g)


def _replica(module, memo):
    """A replica of ``module`` (see :func:`data_parallel_replica`), its
    parameters clones that require a gradient where the parameter does;
    ``memo`` maps ``id(original)`` to its replica."""
    return data_parallel_replica(
        module, memo,
        lambda p: p.detach().clone().requires_grad_(p.requires_grad))


@pytest.mark.parametrize('kind', KINDS)
def test_data_parallel_on_the_cpu_runs_the_model_itself(kind, tmp_path):
    """A guard of kept behaviour: wrapped in ``DataParallel`` without a
    GPU, a model gives its own features and predictions, computes its
    loss, and its ``module.``-prefixed state dict loads back into the
    wrapper and (through MMEngine's loader, which strips the prefix) into
    an unwrapped model, which then gives the same features."""
    from mmengine.runner import load_checkpoint
    model = _model(kind)
    wrapped = torch.nn.DataParallel(model)
    inputs, samples = _batch(model)
    with torch.no_grad():
        feats = model(inputs, samples, mode='tensor')
        torch.testing.assert_close(
            wrapped(inputs, samples, mode='tensor'), feats, rtol=0, atol=0)
        predicted = wrapped(inputs, samples, mode='predict')
    assert [s.pred_score.shape for s in predicted] == [(2, )] * 2
    wrapped.train()
    losses = wrapped(inputs, samples, mode='loss')
    losses['loss_cls'].backward()
    trained = [
        p.grad is not None for path, m in model.named_modules()
        for name, p in m.named_parameters(recurse=False)
        if _is_trained_part(path, name)
    ]
    assert trained and all(trained)
    wrapped.eval()
    state = wrapped.state_dict()
    assert all(k.startswith('module.') for k in state)
    wrapped.load_state_dict(state)
    other = _model(kind)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(1.0)
    path = str(tmp_path / 'wrapped.pth')
    torch.save({'state_dict': state, 'meta': {}}, path)
    load_checkpoint(other, path)
    with torch.no_grad():
        torch.testing.assert_close(
            other(inputs, samples, mode='tensor'), feats, rtol=0, atol=0)


@pytest.mark.parametrize('kind', KINDS)
def test_a_data_parallel_replica_runs_its_own_trained_part(kind):
    """A replica (as multi-GPU ``DataParallel`` makes one, run in its own
    thread) whose adapters or prompts differ from the original's answers
    with its own: as a deep copy with the same change, not as the
    original."""
    model = _model(kind)
    inputs, _ = _batch(model)
    memo = {}
    replica = _replica(model, memo)
    want = copy.deepcopy(model)
    changed = 0
    for (path, module), (_, mine) in zip(model.named_modules(),
                                         want.named_modules()):
        for name, param in list(module._parameters.items()):
            if param is not None and _is_trained_part(path, name):
                object.__setattr__(memo[id(module)], name, _changed(param))
                with torch.no_grad():
                    getattr(mine, name).copy_(_changed(param))
                changed += 1
    assert changed
    out = {}
    with torch.no_grad():
        thread = threading.Thread(
            target=lambda: out.update(feats=replica.extract_feat(inputs)[0]))
        thread.start()
        thread.join()
        expected = want.extract_feat(inputs)[0]
        assert not torch.allclose(expected, model.extract_feat(inputs)[0])
    torch.testing.assert_close(out['feats'], expected)


def test_a_replica_recomputes_a_checkpointed_block_with_its_own_adapters():
    """A replica of a host that checkpoints its blocks (Swin's
    ``with_cp``): the backward pass runs each block's inner forward again
    without the block's hooks, in the thread that calls ``backward`` (on
    GPUs, the autograd engine's thread of the replica's device), not the
    replica's. The recomputed blocks still run the replica's adapters:
    the replica answers, and its adapters get gradients, as a deep copy
    with the same change does."""
    from mmadaptformer.models import AdaptFormer
    torch.manual_seed(0)
    model = AdaptFormer(
        backbone=dict(
            type='mmpretrain.SwinTransformer',
            arch='tiny',
            img_size=32,
            pad_small_map=True,
            drop_path_rate=0.,
            with_cp=True),
        adapter=dict(bottleneck=8)).train()
    for path, module in model.named_modules():
        for name, param in module.named_parameters(recurse=False):
            param.requires_grad_(_is_trained_part(path, name))
    memo = {}
    replica = _replica(model, memo)
    want = copy.deepcopy(model)
    trained = []
    for (path, module), (_, mine) in zip(model.named_modules(),
                                         want.named_modules()):
        for name, param in list(module._parameters.items()):
            if param is not None and _is_trained_part(path, name):
                tensor = _changed(param).detach().requires_grad_()
                object.__setattr__(memo[id(module)], name, tensor)
                with torch.no_grad():
                    getattr(mine, name).copy_(tensor)
                trained.append((tensor, getattr(mine, name)))
    assert trained
    torch.manual_seed(1)
    x = torch.randn(2, 3, 32, 32)
    out = {}
    thread = threading.Thread(target=lambda: out.update(y=replica(x)[-1]))
    thread.start()
    thread.join()
    expected = want(x)[-1]
    torch.testing.assert_close(out['y'], expected)
    weights = torch.linspace(-1, 1, expected.numel()).view_as(expected)
    (out['y'] * weights).sum().backward()
    (expected * weights).sum().backward()
    for tensor, param in trained:
        assert tensor.grad is not None
        torch.testing.assert_close(tensor.grad, param.grad)
    assert all(p.grad is None for p in model.parameters())


def _adaptformer(**options):
    from mmadaptformer.models import AdaptFormer
    torch.manual_seed(0)
    return AdaptFormer(
        backbone=dict(VIDEO_HOST), adapter=dict(bottleneck=8),
        **options).eval()


def _replica_with_all_tensors_changed(model):
    """A replica of ``model`` and a deep copy of it with the same change
    to every parameter, frozen or trained."""
    memo = {}
    replica = _replica(model, memo)
    want = copy.deepcopy(model)
    for module, mine in zip(model.modules(), want.modules()):
        for name, param in list(module._parameters.items()):
            if param is not None:
                object.__setattr__(memo[id(module)], name, _changed(param))
                with torch.no_grad():
                    getattr(mine, name).copy_(_changed(param))
    return replica, want


def _replica_answer(replica, x):
    out = {}
    with torch.no_grad():
        thread = threading.Thread(target=lambda: out.update(y=replica(x)))
        thread.start()
        thread.join()
    return out['y']


@pytest.mark.parametrize('kind', KINDS)
def test_a_replica_runs_its_own_frozen_tensors_too(kind):
    """A replica whose every tensor differs from the original's answers
    as a deep copy with the same change (AdaptFormer without the forward
    replacements, which the next test covers)."""
    if kind == 'adaptformer':
        model = _adaptformer(fused_attention=False)
    else:
        model = _model(kind).backbone
    replica, want = _replica_with_all_tensors_changed(model)
    x = torch.rand(2, 3, 4, 32, 32)
    with torch.no_grad():
        expected = want(x)
        assert not torch.allclose(expected, model(x))
    torch.testing.assert_close(_replica_answer(replica, x), expected)


@pytest.mark.parametrize(
    'options', [dict(), dict(fused_attention=False, with_cp=True)],
    ids=['fused_attention', 'with_cp'])
def test_a_replica_runs_its_own_replaced_forwards(options):
    """AdaptFormer's default ``fused_attention`` and its ``with_cp``: a
    replica whose every tensor differs from the original's answers as a
    deep copy with the same change."""
    model = _adaptformer(**options)
    replica, want = _replica_with_all_tensors_changed(model)
    x = torch.rand(2, 3, 4, 32, 32)
    with torch.no_grad():
        expected = want(x)
    torch.testing.assert_close(_replica_answer(replica, x), expected)
