# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Timing, and the reference matmul whose measured rate (and a datasheet
peak, where given) the training benchmark divides a step's FLOP rate by."""
import time
from typing import Callable, List, Optional, Tuple

import torch

from .cuda_api import cuda_api, is_cuda, timer_sync
from .options import AMP_DTYPES

__all__ = [
    'timed', 'fit_matmul_size', 'reference_matmul_size', 'matmul_flops_per_s',
    'measure_matmul', 'utilisation'
]


def timed(fn: Callable, n: int,
          device: str) -> Tuple[List[float], List[float]]:
    """Wall-clock and process CPU seconds of ``n`` calls of ``fn``.

    Args:
        fn (Callable): Called without arguments.
        n (int): How many calls.
        device (str): On ``'cuda'`` the device is synchronised before and
            after each call (:func:`timer_sync`), so that a call's time is
            its own kernels', not also those queued before it.

    Returns:
        tuple[list[float], list[float]]: Seconds per call.
    """
    sync = timer_sync(device)
    wall, cpu = [], []
    for _ in range(n):
        sync()
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        sync()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


#: Default side of the reference matmul, and the most process CPU time one
#: CPU product of the default size may take (seconds; 7 are timed).
DEFAULT_MATMUL_SIZE = dict(cuda=8192, cpu=2048)
CPU_MATMUL_SECONDS = 1.0
MIN_MATMUL_SIZE = 256


def fit_matmul_size(size: int, probe_size: int, probe_seconds: float,
                    limit_seconds: float) -> int:
    """The largest of ``size``, ``size / 2``, ... (at least
    :data:`MIN_MATMUL_SIZE`) whose product is estimated to take at most
    ``limit_seconds``, from one product of ``probe_size`` that took
    ``probe_seconds`` (time grows with the side cubed).

    Args:
        size (int): The wanted side.
        probe_size (int): The side of the probe product.
        probe_seconds (float): Its time.
        limit_seconds (float): The longest one product may take.

    Returns:
        int: The side to measure with.
    """
    while size > MIN_MATMUL_SIZE and \
            probe_seconds * (size / probe_size)**3 > limit_seconds:
        size //= 2
    return size


def reference_matmul_size(device: str, dtype: str, size: Optional[int]) -> int:
    """The side of the reference matmul: ``size`` if given, else
    :data:`DEFAULT_MATMUL_SIZE`; on a CPU the default is halved while one
    product would take over :data:`CPU_MATMUL_SECONDS` of process CPU time
    (which a busy neighbour does not inflate; e.g. bfloat16 on a CPU
    without AVX512-BF16 or AMX: a 2048-square product took 63 s on one
    thread of an AVX2-only AMD EPYC), judged from one product of a quarter
    of the side.

    Args:
        device (str): ``'cpu'`` or ``'cuda'``.
        dtype (str): A torch dtype name.
        size (int, optional): An explicit side (``--matmul-size``).

    Returns:
        int: The side.
    """
    if size:
        return size
    size = DEFAULT_MATMUL_SIZE[device]
    if device != 'cpu':
        return size
    probe = max(MIN_MATMUL_SIZE, size // 4)
    a = torch.randn(probe, probe).to(getattr(torch, dtype))
    a @ a  # warm-up
    start = time.process_time()
    a @ a
    return fit_matmul_size(size, probe,
                           time.process_time() - start, CPU_MATMUL_SECONDS)


def matmul_flops_per_s(device: str,
                       dtype: str,
                       size: int,
                       reps: int = 5) -> Tuple[float, float]:
    """Best measured rate of a square matmul of ``size`` in ``dtype``: the
    device's practical peak for that dtype.

    Args:
        device (str): ``'cpu'`` or ``'cuda'``.
        dtype (str): A torch dtype name, e.g. ``'bfloat16'``.
        size (int): The side of the square matrices.
        reps (int): Timed products after 2 warm-up ones. Defaults to 5.

    Returns:
        tuple[float, float]: FLOP/s in wall-clock time and in process CPU
        time (the latter is what one thread achieves whatever the
        neighbours on a shared CPU do).
    """
    a = torch.randn(size, size, device=device).to(getattr(torch, dtype))
    b = torch.randn(size, size, device=device).to(getattr(torch, dtype))
    wall, cpu = (t[2:] for t in timed(lambda: a @ b, 2 + reps, device))
    return 2 * size**3 / min(wall), 2 * size**3 / min(cpu)


def measure_matmul(device: str, amp: str, size: Optional[int]) -> dict:
    """The reference matmul of one round and autocast dtype, measured once
    and shared by every row of that round and dtype.

    Args:
        device (str): ``'cpu'`` or ``'cuda'``.
        amp (str): ``'none'`` (float32), ``'bf16'`` or ``'fp16'``.
        size (int, optional): The side; None chooses it
            (:func:`reference_matmul_size`).

    Returns:
        dict: ``matmul_dtype``, ``matmul_size``, ``matmul_flops_per_s`` and,
        on the CPU, ``matmul_flops_per_s_cpu_time``.
    """
    dtype = AMP_DTYPES[amp] or 'float32'
    size = reference_matmul_size(device, dtype, size)
    rate, rate_cpu = matmul_flops_per_s(device, dtype, size)
    if is_cuda(device):
        cuda_api('empty_cache')()  # the workers' memory is theirs
    result = dict(
        matmul_dtype=dtype, matmul_size=size, matmul_flops_per_s=rate)
    if device == 'cpu':
        result['matmul_flops_per_s_cpu_time'] = rate_cpu
    return result


def utilisation(run: dict, reference: dict, peak_tflops: dict) -> dict:
    """What a row's FLOPs per step make of its step time.

    Args:
        run (dict): :func:`measure_mode`'s result.
        reference (dict): :func:`measure_matmul`'s result for its round
            and autocast dtype.
        peak_tflops (dict): Datasheet peaks by autocast dtype
            (``--peak-tflops``).

    Returns:
        dict: ``reference``'s fields; ``matmul_utilisation``: executed
        FLOPs (``step_flops``) per wall-clock second over the reference
        rate (on the CPU also ``matmul_utilisation_cpu_time``, in process
        CPU time); ``peak_flops_per_s``, and against it ``hfu`` (executed
        FLOPs) and ``mfu`` (``model_flops``, without recomputation), None
        without a peak for the row's dtype.
    """
    result = dict(reference)
    result['matmul_utilisation'] = (
        run['step_flops'] / run['step_s'] / reference['matmul_flops_per_s'])
    if 'matmul_flops_per_s_cpu_time' in reference:
        result['matmul_utilisation_cpu_time'] = (
            run['step_flops'] / run['step_cpu_s'] /
            reference['matmul_flops_per_s_cpu_time'])
    peak = peak_tflops.get(run['amp'])
    peak = peak * 1e12 if peak else None
    result.update(
        peak_flops_per_s=peak,
        hfu=run['step_flops'] / run['step_s'] / peak if peak else None,
        mfu=run['model_flops'] / run['step_s'] / peak if peak else None)
    return result
