# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The training benchmark's memory figures: the peak since a baseline (CUDA
max allocated or CPU peak RSS), and what a step keeps for the next."""
import gc
import re

import torch

from .cuda_api import CUDA_APIS, cuda_api, is_cuda

__all__ = ['MB', 'PeakMemory', 'memory_fields']

MB = 2**20


def _proc_status_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        match = re.search(rf'^{field}:\s+(\d+) kB', f.read(), re.M)
    return int(match.group(1))


class PeakMemory:
    """Peak memory since :meth:`reset`: CUDA max allocated or CPU peak RSS,
    in total and above the use at :meth:`reset`.

    Args:
        device (str): ``'cuda'`` or ``'cpu'``.

    Examples:
        >>> memory = PeakMemory('cpu')
        >>> memory.reset()
        >>> model.train_step(data, optim_wrapper)
        >>> peak_bytes = memory.peak_above_base()
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self.note = None
        #: What :meth:`absolute_peak` measures.
        self.kind = (
            CUDA_APIS['max_memory_allocated']
            if is_cuda(device) else 'peak RSS of the process (VmHWM)')

    def reset(self) -> None:
        """Take the current use as the baseline and reset the peak."""
        gc.collect()
        if is_cuda(self.device):
            cuda_api('synchronize')()
            cuda_api('reset_peak_memory_stats')()
            self.base = cuda_api('memory_allocated')()
            return
        self.base = _proc_status_kb('VmRSS') * 1024
        try:
            # '5' resets the peak RSS (VmHWM) to the current RSS.
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
        except OSError as e:
            self.note = (f'could not reset VmHWM ({e}); the peak includes '
                         'the model build')

    def absolute_peak(self) -> int:
        """Bytes of the peak since :meth:`reset`, the baseline included
        (on the CPU: the whole process's resident memory)."""
        if is_cuda(self.device):
            cuda_api('synchronize')()
            return cuda_api('max_memory_allocated')()
        return _proc_status_kb('VmHWM') * 1024

    def peak_above_base(self) -> int:
        """Bytes of the peak since :meth:`reset` above its baseline."""
        return self.absolute_peak() - self.base


def _tensor_bytes(tensors) -> int:
    seen, total = set(), 0
    for t in tensors:
        if torch.is_tensor(t) and id(t) not in seen:
            seen.add(id(t))
            total += t.numel() * t.element_size()
    return total


def memory_fields(memory: PeakMemory, model: torch.nn.Module,
                  optimizer: torch.optim.Optimizer) -> dict:
    """The memory of training steps run since ``memory.reset()``, split up.

    Call it after the steps, before anything else runs.

    Args:
        memory (PeakMemory): Reset once the model, the (empty) optimizer
            and the batch existed.
        model (nn.Module): The trained model.
        optimizer (torch.optim.Optimizer): Its optimizer.

    Returns:
        dict: In MB: ``static_mem_mb`` (parameters and buffers),
        ``optim_state_mb`` (the optimizer's state tensors, created by the
        first step), ``grad_mem_mb`` (the gradients a step computes: one
        of each parameter's size and dtype for every parameter that
        requires one), ``persistent_mem_mb`` (the optimizer state and the
        gradients still held after a step: what a step keeps for the
        next), ``base_mem_mb`` (the use at the reset),
        ``peak_above_base_mb``, ``transient_mem_mb`` (that peak less the
        persistent state, at least 0: activations, gradients during the
        backward pass and workspace) and ``abs_peak_mem_mb`` (the peak in
        total, of ``peak_mem_kind``); and ``peak_mem_note``.
    """
    absolute = memory.absolute_peak()
    above = absolute - memory.base
    # MMEngine's wrapper ends a step with zero_grad(set_to_none=True), so
    # the gradients are gone when this is called: their size is what each
    # backward pass allocated (a gradient has its parameter's shape and
    # dtype), and what is still held is persistent.
    grads = _tensor_bytes(p for p in model.parameters() if p.requires_grad)
    held_grads = _tensor_bytes(p.grad for p in model.parameters())
    optim_state = _tensor_bytes(t for state in optimizer.state.values()
                                for t in state.values())
    persistent = held_grads + optim_state
    static = _tensor_bytes([*model.parameters(), *model.buffers()])
    return dict(
        static_mem_mb=static / MB,
        optim_state_mb=optim_state / MB,
        grad_mem_mb=grads / MB,
        persistent_mem_mb=persistent / MB,
        base_mem_mb=memory.base / MB,
        peak_above_base_mb=above / MB,
        transient_mem_mb=max(0, above - persistent) / MB,
        abs_peak_mem_mb=absolute / MB,
        peak_mem_kind=memory.kind,
        peak_mem_note=memory.note)
