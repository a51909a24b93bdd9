# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One mode of the training benchmark, measured in this process: step time,
peak memory, optimizer state, inference, FLOPs and MFU."""
import gc
import re
import statistics
import time
from contextlib import nullcontext
from typing import Callable, List, Optional, Tuple

import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner.amp import autocast

from ..engine import adapter_hook_cfg, restrict_optimizer
from ..models import (apply_trainable, fuse_attention, make_tokens_contiguous,
                      plan_trainable)
from ..utils import HEAD_NAMES, count_flops
from .inputs import (input_spec, load_config, model_cfg_for, num_classes_of,
                     optim_wrapper_cfg_for, synthetic_batch)
from .options import AMP_DTYPES


def _proc_status_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        match = re.search(rf'^{field}:\s+(\d+) kB', f.read(), re.M)
    return int(match.group(1))


class PeakMemory:
    """Peak memory above a baseline: CUDA max allocated or CPU peak RSS.

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

    def reset(self) -> None:
        """Take the current use as the baseline and reset the peak."""
        gc.collect()
        if self.device == 'cuda':
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
            return
        self.base = _proc_status_kb('VmRSS') * 1024
        try:
            # '5' resets the peak RSS (VmHWM) to the current RSS.
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
        except OSError as e:
            self.note = (f'could not reset VmHWM ({e}); the peak includes '
                         'the model build')

    def peak_above_base(self) -> int:
        """Bytes of the peak since :meth:`reset` above its baseline."""
        if self.device == 'cuda':
            torch.cuda.synchronize()
            return torch.cuda.max_memory_allocated() - self.base
        return _proc_status_kb('VmHWM') * 1024 - self.base


#: Default side of the MFU reference matmul, and the longest a CPU product
#: of the default size may take (seconds; 7 are timed per mode).
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
    """The side of the MFU reference matmul: ``size`` if given, else
    :data:`DEFAULT_MATMUL_SIZE`; on a CPU the default is halved while one
    product would take over :data:`CPU_MATMUL_SECONDS` (e.g. bfloat16 on a
    CPU without AVX512-BF16 or AMX: a 2048-square product took 63 s on
    one thread of an AVX2-only AMD EPYC), judged from one product of a quarter
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
    start = time.perf_counter()
    a @ a
    return fit_matmul_size(size, probe,
                           time.perf_counter() - start, CPU_MATMUL_SECONDS)


def matmul_flops_per_s(device: str,
                       dtype: str,
                       size: int,
                       reps: int = 5) -> Tuple[float, float]:
    """Best measured rate of a square matmul of ``size`` in ``dtype``: the
    device's practical peak, the denominator of the model FLOP utilisation.

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


def timed(fn: Callable, n: int,
          device: str) -> Tuple[List[float], List[float]]:
    """Wall-clock and process CPU seconds of ``n`` calls of ``fn``.

    Args:
        fn (Callable): Called without arguments.
        n (int): How many calls.
        device (str): On ``'cuda'`` each call is synchronised.

    Returns:
        tuple[list[float], list[float]]: Seconds per call.
    """
    wall, cpu = [], []
    for _ in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        if device == 'cuda':
            torch.cuda.synchronize()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def measure_mode(args, mode: str, amp: str) -> dict:
    """Measure one mode in this process.

    Args:
        args (argparse.Namespace): The benchmark's options
            (:func:`parse_args`).
        mode (str): One of :data:`MODES`.
        amp (str): ``'none'``, ``'bf16'`` or ``'fp16'``.

    Returns:
        dict: The measurements (JSON-serialisable).
    """
    cfg = load_config(args)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if args.threads:
        torch.set_num_threads(args.threads)
    if cfg.get('default_scope'):
        init_default_scope(cfg.default_scope)
    spec = input_spec(cfg, args)
    model_cfg, adapters_added = model_cfg_for(cfg, mode, args)

    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.to(device)

    hook = adapter_hook_cfg(cfg) or {}
    if mode in ('full_ft', 'full_ft_fast'):
        if mode == 'full_ft_fast':
            fuse_attention(model)
            make_tokens_contiguous(model)
        model.requires_grad_(True)
    else:
        plan = plan_trainable(
            model,
            mode='linear_probe' if mode == 'linear_probe' else 'adaptformer',
            head=hook.get('head', HEAD_NAMES),
            extra_trainable=hook.get('extra_trainable', ()))
        apply_trainable(model, plan)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optim_wrapper = build_optim_wrapper(
        model, optim_wrapper_cfg_for(cfg, amp, device))
    restrict_optimizer(optim_wrapper, trainable)
    if mode == 'adaptformer' and args.naive_freeze:
        model.requires_grad_(True)
    if mode == 'adaptformer' and args.no_frozen_prefix:
        model.backbone.register_forward_pre_hook(
            lambda module, inputs: (inputs[0].requires_grad_(), ) + inputs[1:])
    data = synthetic_batch(spec, num_classes_of(model_cfg), device)

    memory = PeakMemory(device)
    memory.reset()
    model.train()
    steps, steps_cpu = (
        t[args.warmup:]
        for t in timed(lambda: model.train_step(data, optim_wrapper),
                       args.warmup + args.iters, device))
    peak = memory.peak_above_base()

    in_optimizer = {id(p) for p in trainable}
    frozen_with_grad = sum(1 for p in model.parameters()
                           if id(p) not in in_optimizer and p.grad is not None)
    optim_state = sum(t.numel() * t.element_size()
                      for state in optim_wrapper.optimizer.state.values()
                      for t in state.values() if torch.is_tensor(t))

    model.eval()

    def infer():
        context = nullcontext() if amp == 'none' else autocast(
            device_type=device, dtype=getattr(torch, AMP_DTYPES[amp]))
        with torch.no_grad(), context:
            model.test_step(data)

    infers = timed(infer, args.warmup + args.iters, device)[0][args.warmup:]
    step, infer_step = statistics.median(steps), statistics.median(infers)

    # One more, counted step (after the timed ones: counting is slow).
    model.train()
    step_flops = count_flops(lambda: model.train_step(data, optim_wrapper))
    matmul_dtype = AMP_DTYPES[amp] or 'float32'
    matmul_size = reference_matmul_size(device, matmul_dtype, args.matmul_size)
    matmul_rate, matmul_rate_cpu = matmul_flops_per_s(device, matmul_dtype,
                                                      matmul_size)
    batch = spec['batch_size']
    return dict(
        mode=mode,
        amp=amp,
        device=device,
        gpu=torch.cuda.get_device_name() if device == 'cuda' else None,
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        adapters_added=adapters_added,
        step_s=step,
        step_times_s=steps,
        step_cpu_s=statistics.median(steps_cpu),
        train_throughput=batch / step,
        peak_mem_mb=peak / 2**20,
        peak_mem_note=memory.note,
        trainable_params=sum(p.numel() for p in trainable),
        total_params=sum(p.numel() for p in model.parameters()),
        frozen_params_with_grad=frozen_with_grad,
        optim_state_mb=optim_state / 2**20,
        infer_step_s=infer_step,
        infer_throughput=batch / infer_step,
        step_flops=step_flops,
        achieved_flops_per_s=step_flops / step,
        matmul_dtype=matmul_dtype,
        matmul_size=matmul_size,
        matmul_flops_per_s=matmul_rate,
        matmul_flops_per_s_cpu_time=matmul_rate_cpu,
        mfu=step_flops / step / matmul_rate,
        mfu_cpu_time=(step_flops / statistics.median(steps_cpu) /
                      matmul_rate_cpu) if device == 'cpu' else None)
