# Copyright (c) mmadaptformer contributors. All rights reserved.
""":func:`memory_fields` after real steps of MMEngine's optimizer wrapper,
in-process: ``grad_mem_mb`` is the gradients a step computes.

It summed the ``.grad`` still held when the figures were read, which
MMEngine's ``zero_grad(set_to_none=True)`` had already dropped: 0 in
every report.
"""
import torch
from mmengine.optim import OptimWrapper
from torch import nn

from mmadaptformer.benchmark import PeakMemory, memory_fields

MB = 2**20


def _stepped(frozen: bool, dtype=torch.float32):
    """A two-layer model, its first layer frozen if ``frozen``, after two
    SGD-with-momentum steps of MMEngine's wrapper."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.Linear(32, 4)).to(dtype)
    if frozen:
        model[0].requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    wrapper = OptimWrapper(torch.optim.SGD(trainable, lr=0.1, momentum=0.9))
    memory = PeakMemory('cpu')
    memory.reset()
    for _ in range(2):
        loss = model(torch.randn(8, 16, dtype=dtype)).float().pow(2).mean()
        wrapper.update_params(loss)
    return model, wrapper, memory


def test_grad_mem_is_the_gradients_a_step_computes():
    for frozen in (False, True):
        model, wrapper, memory = _stepped(frozen)
        assert all(p.grad is None for p in model.parameters())
        fields = memory_fields(memory, model, wrapper.optimizer)
        trainable = sum(p.numel() for p in model.parameters()
                        if p.requires_grad)
        assert trainable == (32 * 4 + 4 if frozen else 16 * 32 + 32 + 32 * 4 +
                             4)
        assert fields['grad_mem_mb'] * MB == 4 * trainable
        # Momentum buffers only: no gradient outlives the step.
        assert fields['optim_state_mb'] * MB == 4 * trainable
        assert fields['persistent_mem_mb'] == fields['optim_state_mb']


def test_grad_mem_is_in_the_parameters_dtype():
    model, wrapper, memory = _stepped(True, torch.bfloat16)
    fields = memory_fields(memory, model, wrapper.optimizer)
    assert fields['grad_mem_mb'] * MB == 2 * (32 * 4 + 4)


def test_gradients_still_held_are_persistent():
    """Guard of kept behaviour: a gradient that outlives the step (a
    wrapper that zeroes in place) counts in the persistent state."""
    model, wrapper, memory = _stepped(True)
    loss = model(torch.randn(8, 16)).pow(2).mean()
    loss.backward()
    fields = memory_fields(memory, model, wrapper.optimizer)
    assert fields['persistent_mem_mb'] * MB == 2 * 4 * (32 * 4 + 4)
