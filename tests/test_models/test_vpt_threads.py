# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One VPT-shallow model run by several threads at once.

VPT-shallow carries each block's prompt outputs to the next block. The
first thread is held between block 0 and block 1, its prompt outputs
already carried, until a second thread has run a whole forward (or copied
the model): with the carried prompts on the shared model, the first one
then raised "ran without ... right before it" (the second forward had
cleared them), and a copy of the model copied them, a training forward's
non-leaf tensor, which ``copy.deepcopy`` refuses."""
import copy
import io
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from helpers import VIDEO_HOST
from thread_helpers import held_then_second
from torch.testing import assert_close

from mmadaptformer.models import VPT

IMAGE_HOST = dict(
    type='mmpretrain.VisionTransformer',
    arch=dict(
        embed_dims=64, num_layers=3, num_heads=2, feedforward_channels=128),
    img_size=32,
    patch_size=16)
# name: (backbone config, its blocks' attribute, one sample's shape)
HOSTS = {
    'mmaction-vit': (VIDEO_HOST, 'blocks', (3, 4, 32, 32)),
    'mmpretrain-vit': (IMAGE_HOST, 'layers', (3, 32, 32)),
}


def _shallow_vpt(host):
    cfg, blocks, shape = HOSTS[host]
    torch.manual_seed(0)
    model = VPT(backbone=dict(cfg), num_prompts=3, deep=False).eval()
    with torch.no_grad():
        # Large prompts, so that other prompts change the output.
        model.prompt_embeddings.normal_()
    return model, getattr(model.backbone, blocks)[0], shape


def _out(output):
    return output if isinstance(output, torch.Tensor) else output[-1]


@pytest.mark.parametrize('grad', [False, True])
@pytest.mark.parametrize('host', HOSTS)
def test_two_threads_in_one_forward_get_their_own_results(host, grad):
    model, first_block, shape = _shallow_vpt(host)
    a, b = torch.randn((1, ) + shape), torch.randn((2, ) + shape)
    with torch.set_grad_enabled(grad):
        want_a, want_b = _out(model(a)), _out(model(b))

    def forward(x):
        with torch.set_grad_enabled(grad):
            return _out(model(x))

    got_a, got_b = held_then_second(first_block, lambda: forward(a),
                                    lambda: forward(b))
    assert_close(got_a, want_a, rtol=0, atol=0)
    assert_close(got_b, want_b, rtol=0, atol=0)
    if grad:
        # Not a plain sum: the output is layer-normalised, and the sum of a
        # normalised vector does not depend on its input, so its gradient
        # is rounding noise, at times exactly 0.
        weights = torch.randn(
            got_a.shape, generator=torch.Generator().manual_seed(1))
        (got_a * weights).sum().backward()
        assert model.prompt_embeddings.grad.abs().sum() > 0


def _saved_and_loaded(model):
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


COPIERS = {'deepcopy': copy.deepcopy, 'pickle': _saved_and_loaded}


def test_a_deepcopy_while_another_thread_is_between_blocks():
    """The EMA hook's ``copy.deepcopy`` of a model that another thread is
    in a training forward of."""
    model, first_block, shape = _shallow_vpt('mmaction-vit')
    model.train()
    x = torch.randn((2, ) + shape)
    want = model(x)
    got, clone = held_then_second(first_block, lambda: model(x),
                                  lambda: copy.deepcopy(model))
    assert_close(got, want, rtol=0, atol=0)
    assert_close(clone(x), want, rtol=0, atol=0)


@pytest.mark.parametrize('copier', COPIERS)
def test_a_copy_after_a_forward_stopped_between_blocks(copier):
    """A training forward of the host stopped after block 0 (not through
    the wrapper's ``forward``, which clears up) leaves its prompt outputs
    to its own thread only: a copy (``copy.deepcopy`` for EMA,
    ``torch.save(model)``) and another thread get none, and the copy runs
    its own prompts."""
    model, first_block, shape = _shallow_vpt('mmaction-vit')
    model.train()
    x = torch.randn((1, ) + shape)
    want = model(x)
    second_block = model.backbone.blocks[1]

    def stop(module, args):
        raise KeyboardInterrupt

    handle = second_block.register_forward_pre_hook(stop, prepend=True)
    with pytest.raises(KeyboardInterrupt):
        model.backbone(x)
    handle.remove()
    tokens = torch.randn(1, 8, 64)
    no_carry = 'blocks.1 ran without blocks.0 right before it'
    clone = COPIERS[copier](model)
    assert clone.state_dict().keys() == model.state_dict().keys()
    assert clone.backbone.blocks[0]._vpt_router.owner is clone
    with pytest.raises(RuntimeError, match=no_carry):
        clone.backbone.blocks[1](tokens)
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(RuntimeError, match=no_carry):
            pool.submit(second_block, tokens).result()
    assert_close(clone(x), want, rtol=0, atol=0)
    with torch.no_grad():
        clone.prompt_embeddings.mul_(2)
    assert not torch.equal(clone(x), want)
    assert_close(model(x), want, rtol=0, atol=0)
