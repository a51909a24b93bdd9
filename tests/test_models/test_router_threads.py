# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One adapted model run by several threads at once.

Each thread's forward keeps its own norm input until its feed-forward
branch runs. The first thread is held inside block 0, between its norm and
its feed-forward branch, until a second thread has run a whole forward:
with the state on the shared router, the first one then raised
"Block.norm2 was not called during Block.forward"."""
import copy
import io
import os.path as osp

import pytest
import torch
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from thread_helpers import held_then_second
from torch import nn
from torch.testing import assert_close

from mmadaptformer.models import AdaptMLP, inject_adapters

DIMS = 32


def _random_adapters(model: nn.Module) -> None:
    # Zero-initialised up projections would hide a swapped adapter input.
    gen = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, AdaptMLP):
            for param in module.parameters():
                param.data.copy_(torch.randn(param.shape, generator=gen))


def _vit_blocks(num=2):
    from mmaction.models.backbones.vit_mae import Block
    torch.manual_seed(0)
    model = nn.Sequential(*[Block(DIMS, num_heads=2) for _ in range(num)])
    inject_adapters(model, adapter=dict(bottleneck=4))
    _random_adapters(model)
    return model.eval()


@pytest.mark.parametrize('grad', [False, True])
def test_two_threads_in_one_forward_get_their_own_results(grad):
    model = _vit_blocks()
    a, b = torch.randn(2, 5, DIMS), torch.randn(3, 7, DIMS)
    with torch.set_grad_enabled(grad):
        want_a, want_b = model(a), model(b)

    def forward(x):
        with torch.set_grad_enabled(grad):
            return model(x)

    got_a, got_b = held_then_second(model[0].norm2, lambda: forward(a),
                                    lambda: forward(b))
    assert_close(got_a, want_a, rtol=0, atol=0)
    assert_close(got_b, want_b, rtol=0, atol=0)
    if grad:
        got_a.sum().backward()
        assert model[0].adaptmlp.up_proj.weight.grad.abs().sum() > 0


def test_inference_recognizer_from_two_threads(tiny_video_data, clean_loggers):
    """mmaction2's ``inference_recognizer`` on one model from two threads
    gives each video the scores it gets alone."""
    from mmaction.apis import inference_recognizer
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    _random_adapters(model)
    model.cfg = cfg
    model.eval()
    with open(tiny_video_data['val']) as f:
        names = [line.split()[0] for line in f if line.strip()][:2]
    first, second = (osp.join(tiny_video_data['videos'], n) for n in names)
    want = [
        inference_recognizer(model, video).pred_score
        for video in (first, second)
    ]
    assert not torch.equal(*want)
    got = held_then_second(
        model.backbone.backbone.blocks[0].norm2,
        lambda: inference_recognizer(model, first).pred_score,
        lambda: inference_recognizer(model, second).pred_score)
    for scores, expected in zip(got, want):
        assert_close(scores, expected, rtol=0, atol=0)


class _Interrupt(Exception):
    pass


def _interrupt(module, args, output):
    raise _Interrupt


@pytest.mark.parametrize('copier', ['deepcopy', 'pickle'])
def test_a_copy_has_no_forward_state_and_its_own_adapters(copier):
    """The EMA hook's ``copy.deepcopy`` and ``torch.save(model)`` work on an
    adapted model (a thread-local object can be neither), also with a
    forward stopped inside a block, and the copy runs its own adapters."""
    model = _vit_blocks()
    x = torch.randn(2, 5, DIMS)
    want = model(x)
    # A forward stopped between block 0's norm and its feed-forward branch
    # leaves the norm input behind in this thread.
    handle = model[0].norm2.register_forward_hook(_interrupt)
    with pytest.raises(_Interrupt):
        model(x)
    handle.remove()
    assert model[0]._adapter_router.state.x is not None
    if copier == 'deepcopy':
        clone = copy.deepcopy(model)
    else:
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        clone = torch.load(buffer, weights_only=False)
    router = clone[0]._adapter_router
    assert router.block is clone[0]
    assert router.state.x is None and not router.state.armed
    assert clone.state_dict().keys() == model.state_dict().keys()
    assert_close(clone(x), want, rtol=0, atol=0)
    with torch.no_grad():
        clone[0].adaptmlp.up_proj.weight.mul_(2)
    assert not torch.equal(clone(x), want)
    assert_close(model(x), want, rtol=0, atol=0)


def test_a_deepcopy_while_another_thread_is_inside_a_block():
    model = _vit_blocks()
    x = torch.randn(2, 5, DIMS)
    want = model(x)
    got, clone = held_then_second(model[0].norm2, lambda: model(x),
                                  lambda: copy.deepcopy(model))
    assert_close(got, want, rtol=0, atol=0)
    assert_close(clone(x), want, rtol=0, atol=0)


def test_an_undeclared_norm_is_still_named():
    """The message written for a norm the block never calls."""
    from mmaction.models.backbones.vit_mae import Block
    model = nn.Sequential(Block(DIMS, num_heads=2))
    model[0].unused_norm = nn.LayerNorm(DIMS)
    inject_adapters(
        model, block_types=[dict(type='Block', norm='unused_norm', ffn='mlp')])
    with pytest.raises(
            RuntimeError,
            match='Block.unused_norm was not called during Block.forward'):
        model(torch.randn(1, 2, DIMS))
