# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Inference speed and memory of AdaptFormer models, one or many tasks.

Used by ``tools/analysis_tools/benchmark_infer.py`` (the tasks and inputs
come from :mod:`.benchmark_tasks`, its tables from
:mod:`.benchmark_table`); see the inference section of
``docs/benchmark.md``. Everything runs in one process and every ratio is
a speed ratio measured side by side (the two sides alternate within each
repetition), in process CPU time, so a busy neighbour on a shared machine
hits both sides alike. Throughputs (inputs per second) are in wall-clock
time: process CPU time sums the CPU time of all threads, so on N threads
it would understate them up to N times. Weights are random (speed does
not depend on them): a stock backbone checkpoint is written once and
every task is a real adapter-only checkpoint trained on it, loaded by
:class:`~mmadaptformer.apis.MultiTaskRecognizer` as a user's would be.
"""
import ctypes
import gc
import re
import statistics
import time
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.engine import adapter_hook_cfg
from mmadaptformer.utils.config_error import ConfigError
from .batching import check_batch_size
from .benchmark_tasks import stock_cfg, synthetic_inputs, write_tasks
from .inputs import toolbox_of
from .model_init import init_model
from .multitask import MultiTaskRecognizer
from .prefix_layers import adaptable_block_count, prefix_layers_of

__all__ = [
    'peak_rss_above', 'times_of', 'synthetic_inputs', 'write_tasks',
    'check_adaptformer_cfg', 'benchmark_inference'
]


def _status_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        return int(
            re.search(rf'^{field}:\s+(\d+) kB', f.read(), re.M).group(1))


def peak_rss_above(fn: Callable[[], object]) -> int:
    """Peak resident memory while ``fn`` runs, above the memory before it,
    in bytes (``VmHWM`` reset through ``/proc/self/clear_refs``).

    The C allocator keeps freed memory mapped, so an earlier call would hide
    this one's peak; ``malloc_trim`` returns it to the system first.
    """
    gc.collect()
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: the peak may be understated
    base = _status_kb('VmRSS')
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    fn()
    return (_status_kb('VmHWM') - base) * 1024


def times_of(fn: Callable[[], object]) -> Tuple[float, float]:
    """Process CPU seconds and wall-clock seconds of one call of ``fn``.

    The CPU time is that of all the process's threads together: on N busy
    threads it grows up to N times faster than the wall-clock time.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    cpu = time.process_time() - cpu
    return cpu, time.perf_counter() - wall


def _median_times(fns: Dict[str, Callable], repeat: int,
                  warmup: int) -> Dict[str, Dict[str, float]]:
    """Median process CPU and wall-clock seconds per function, calls
    interleaved: ``{name: dict(cpu_s=..., wall_s=...)}``."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            times[name].append(times_of(fn))
    return {
        name: dict(
            cpu_s=statistics.median(cpu for cpu, _ in t),
            wall_s=statistics.median(wall for _, wall in t))
        for name, t in times.items()
    }


def _rates(count: int, times: Dict[str, Dict[str, float]],
           names: Sequence[str]) -> Dict[str, float]:
    """``count`` over the median wall-clock time of each of ``names``."""
    return {name: count / times[name]['wall_s'] for name in names}


def _cpu_ratio(times: Dict[str, Dict[str, float]], slow: str,
               fast: str) -> float:
    """How many times ``fast`` is faster, in process CPU time."""
    return times[slow]['cpu_s'] / times[fast]['cpu_s']


def check_adaptformer_cfg(cfg: Config,
                          measured_by: str = 'benchmark_inference') -> None:
    """Refuse a config whose model is not an AdaptFormer one, before
    anything is built.

    Args:
        cfg (Config): The config to measure.
        measured_by (str): What measures it, for the message (a tool says
            ``'this tool'``). Defaults to ``'benchmark_inference'``.

    Raises:
        ConfigError: If ``model.backbone.type`` is not ``AdaptFormer``
            (any registry scope), naming the type it is, or if no
            ``AdapterHook`` says what a task trains.
    """
    backbone = (cfg.get('model') or {}).get('backbone') or {}
    backbone_type = str(backbone.get('type'))
    if backbone_type.split('.')[-1] != 'AdaptFormer':
        raise ConfigError(
            f'model.backbone is {backbone_type}, but {measured_by} measures '
            "AdaptFormer tasks: expected model.backbone.type='AdaptFormer' "
            '(an AdaptFormer config with an AdapterHook).')
    if adapter_hook_cfg(cfg) is None:
        # Which parts a task trains (and its checkpoint holds) is the
        # hook's to say; without one, writing the tasks failed with a
        # traceback about "the config the checkpoint was trained with".
        raise ConfigError(
            'custom_hooks hold no AdapterHook, which says what a task '
            'trains and its adapter-only checkpoint holds; add '
            "dict(type='AdapterHook', ...) as the recipes do.")


def benchmark_inference(cfg: Config,
                        root: str,
                        batch_size: int = 2,
                        num_tasks: Sequence[int] = (1, 2, 4, 8),
                        prefix_layers: Optional[Sequence[int]] = None,
                        prefix_tasks: int = 4,
                        repeat: int = 3,
                        warmup: int = 1,
                        log: Callable[[str], None] = print,
                        prefix_layers_option: str = 'prefix_layers') -> dict:
    """Measure inference of one config's AdaptFormer model.

    Args:
        cfg (Config): An AdaptFormer config with an AdapterHook.
        root (str): A folder for the checkpoints it writes.
        batch_size (int): Inputs per forward. Defaults to 2.
        num_tasks (Sequence[int]): Task counts of the mixed-batch rows.
            Defaults to (1, 2, 4, 8).
        prefix_layers (Sequence[int], optional): Adapted blocks of the
            shared-prefix row. Defaults to None: the last min(3, N - 1) of
            the model's N adaptable blocks, at least 1, so that at least
            the first block is shared (``shared_prefix.layers_source``
            says which).
        prefix_tasks (int): Tasks of the shared-prefix row. Defaults to 4.
        repeat (int): Timed calls per variant. Defaults to 3.
        warmup (int): Untimed calls first. Defaults to 1.
        log (Callable): Progress messages. Defaults to ``print``.
        prefix_layers_option (str): ``prefix_layers`` as ``layers_source``
            names it. Defaults to ``'prefix_layers'``.

    Returns:
        dict: The results; see ``docs/benchmark.md``. Keys ending in
        ``_per_s`` are inputs (or answers) per wall-clock second; the
        ratios (``ratio``, ``mixed_vs_*``, ``speedup``) are speed ratios,
        the other side's process CPU time over this side's (above 1:
        faster); ``seconds`` holds both medians of every variant.

    Raises:
        ConfigError: If the config's model is not an AdaptFormer one.
        ValueError: If ``batch_size`` is not an int >= 1.
    """
    check_adaptformer_cfg(cfg)
    check_batch_size(batch_size)
    out = dict(
        batch_size=batch_size,
        repeat=repeat,
        warmup=warmup,
        threads=torch.get_num_threads(),
        clocks=dict(throughput='wall', ratios='process CPU'))
    scope = toolbox_of(cfg)
    data = synthetic_inputs(cfg, batch_size)
    # Counted once (it builds the host) for the default layers and the
    # table's block numbers; a host without blocks is refused first.
    num_blocks = adaptable_block_count(cfg)
    prefix_layers, prefix_source = prefix_layers_of(
        cfg, prefix_layers, prefix_layers_option, num_blocks=num_blocks)
    max_tasks = max(num_tasks)
    tasks = write_tasks(cfg, root, max_tasks)
    # The shared-prefix tasks too, before anything is measured: layers the
    # model does not have are refused now, not after minutes of timing.
    try:
        prefix = write_tasks(cfg, root, prefix_tasks, layers=prefix_layers)
    except ConfigError as e:
        raise ConfigError(f'prefix_layers={list(prefix_layers)} (the adapted '
                          f'blocks of the shared-prefix row): {e}') from e
    # The block numbers a reader counts (0 first), for the table: the
    # default layers are negative indices, e.g. [-1].
    prefix_blocks = sorted({i % num_blocks for i in prefix_layers})

    # 1. AdaptFormer (fast path) vs the stock model, same batch.
    init_default_scope(scope)
    torch.manual_seed(0)
    stock = MODELS.build(stock_cfg(cfg).model).eval()
    engine = MultiTaskRecognizer()
    engine.add_task(tasks[0]['name'], tasks[0]['config'],
                    tasks[0]['checkpoint'])
    single, _ = init_model(tasks[0]['config'], tasks[0]['checkpoint'])
    batch = pseudo_collate(data)

    def run(model, batch=batch):
        with torch.no_grad():
            model.test_step(batch)

    log('AdaptFormer vs stock ...')
    t = _median_times(
        dict(adaptformer=lambda: run(single), stock=lambda: run(stock)),
        repeat, warmup)
    rates = _rates(batch_size, t, ('adaptformer', 'stock'))
    out['vs_stock'] = dict(
        adaptformer_per_s=rates['adaptformer'],
        stock_per_s=rates['stock'],
        ratio=_cpu_ratio(t, 'stock', 'adaptformer'),
        seconds=t)
    stock = None  # frees it

    # 2. Mixed batches of N tasks vs the N models one after the other, and
    # vs one task on a batch of the same size (N x batch_size).
    models = [single]
    for task in tasks[1:]:
        models.append(init_model(task['config'], task['checkpoint'])[0])
        engine.add_task(task['name'], task['config'], task['checkpoint'])
    # Memory per added task, and of one more whole model.
    elements = []
    probe = MultiTaskRecognizer()
    for task in tasks:
        probe.add_task(task['name'], task['config'], task['checkpoint'])
        elements.append(probe.num_tensor_elements())
    del probe
    whole = sum(t.numel()
                for t in list(single.parameters()) + list(single.buffers()))
    out['memory'] = dict(
        first_task_mb=elements[0] * 4 / 2**20,
        per_added_task_mb=[(b - a) * 4 / 2**20
                           for a, b in zip(elements, elements[1:])],
        whole_model_mb=whole * 4 / 2**20)
    rows = []
    for n in num_tasks:
        names = engine.tasks[:n]
        big = pseudo_collate(data * n)
        log(f'{n} tasks ...')
        fns = dict(
            mixed=lambda: engine.predict(data, names),
            one_after_another=lambda: [run(m) for m in models[:n]],
            single_task_same_rows=lambda: run(single, big))
        t = _median_times(fns, repeat, warmup)
        mem = {name: peak_rss_above(fn) / 2**20 for name, fn in fns.items()}
        rates = _rates(n * batch_size, t, fns)
        rows.append(
            dict(
                tasks=n,
                mixed_per_s=rates['mixed'],
                one_after_another_per_s=rates['one_after_another'],
                single_task_same_rows_per_s=rates['single_task_same_rows'],
                mixed_vs_one_after_another=_cpu_ratio(t, 'one_after_another',
                                                      'mixed'),
                mixed_vs_single_task_same_rows=_cpu_ratio(
                    t, 'single_task_same_rows', 'mixed'),
                peak_mb={k: round(v, 1)
                         for k, v in mem.items()},
                weights_mb=dict(
                    mixed=round(elements[n - 1] * 4 / 2**20, 1),
                    one_after_another=round(n * whole * 4 / 2**20, 1)),
                seconds=t))
    out['mixed'] = rows
    models = engine = None  # frees them

    # 3. Shared prefix: adapters in the last blocks only.
    engine = MultiTaskRecognizer()
    for task in prefix:
        engine.add_task(task['name'], task['config'], task['checkpoint'])
    shared = dict(engine.streams.split_at)
    no_prefix = {name: 0 for name in shared}

    def forward(split_at):
        engine.streams.split_at = split_at
        engine.predict(data)

    log('shared prefix ...')
    t = _median_times(
        dict(
            shared=lambda: forward(shared),
            fan_out_at_block_0=lambda: forward(no_prefix)), repeat, warmup)
    engine.streams.split_at = shared
    rates = _rates(prefix_tasks * batch_size, t,
                   ('shared', 'fan_out_at_block_0'))
    out['shared_prefix'] = dict(
        tasks=prefix_tasks,
        layers=list(prefix_layers),
        layers_source=prefix_source,
        blocks=prefix_blocks,
        num_blocks=num_blocks,
        split_at=shared,
        shared_per_s=rates['shared'],
        fan_out_at_block_0_per_s=rates['fan_out_at_block_0'],
        speedup=_cpu_ratio(t, 'fan_out_at_block_0', 'shared'),
        seconds=t)
    return out
